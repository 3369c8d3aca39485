#!/usr/bin/env bash
# Runs `loom` on bad input, as a careless user would, and prints a Markdown table of what each
# case gets: the exit status and the message. Every case must exit non-zero with a message and no
# trace; the script fails otherwise.
#
#   scripts/bad-inputs.sh [OUT.md]
set -uo pipefail
cd "$(dirname "$0")/.."
loom=${LOOM:-.build/release/loom}
[ -x "$loom" ] || { echo "bad-inputs: build first (swift build -c release)" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/loom-bad.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out=${1:-/dev/stdout}

# Small good files to spoil.
awk 'BEGIN { srand(1); for (i = 0; i < 3000; i++) printf "w%d v%d ", i % 37, i % 11 }' > "$dir/corpus.txt"
head -c 2000 "$dir/corpus.txt" > "$dir/text.txt"
: > "$dir/empty.txt"
printf '\x7fELF\x02\x01\x01\x00\x00\x00binary' > "$dir/binary.txt"
"$loom" word2vec train --corpus "$dir/corpus.txt" --window 2 --loss negative --min-count 1 --dim 8 --epochs 1 \
    --device cpu --output "$dir/v.bin" > /dev/null 2>&1
"$loom" lstm train --text "$dir/text.txt" --hidden 8 --batch-size 4 --unrollings 5 --steps 3 --valid-size 50 \
    --device cpu --checkpoint "$dir/good.ckpt" > /dev/null 2>&1
head -c 300 "$dir/good.ckpt" > "$dir/cut.ckpt"
printf '1000000000000 100\n' > "$dir/huge.bin"
mkdir -p "$dir/images"
printf 'a.png\tan image\n' > "$dir/images/captions.tsv"
printf '\xff\xd8\xff\xe0\x00\x10JFIF' > "$dir/images/cut.jpg"
printf 'cut.jpg\ta damaged photo\n' > "$dir/bad-jpeg.tsv"
printf 'a.png an image without a tab\n' > "$dir/no-tab.tsv"
# A line of 100 MB (no line break): mapped, measured and refused before any string is made.
head -c 100000000 /dev/zero | tr '\0' x > "$dir/line"
{ printf '2 3\nthe 1 2 3\n'; cat "$dir/line"; printf ' 1 2 3\n'; } > "$dir/long-line.vec"
{ printf 'the cat sat '; cat "$dir/line"; printf ' on the mat\n'; } > "$dir/long-word.txt"
{ printf 'hallo\thello\n'; cat "$dir/line"; printf '\tx\n'; } > "$dir/long-line.tsv"
rm "$dir/line"

cases=(
    "a missing corpus|word2vec train --corpus $dir/missing.txt --output $dir/o.bin"
    "an empty corpus|word2vec train --corpus $dir/empty.txt --output $dir/o.bin"
    "a binary corpus|word2vec train --corpus $dir/binary.txt --output $dir/o.bin"
    "more sampled classes than words|word2vec train --corpus $dir/corpus.txt --min-count 1 --num-sampled 64 --output $dir/o.bin"
    "word2vec, learning rate 1e30|word2vec train --corpus $dir/corpus.txt --window 2 --loss negative --min-count 1 --dim 8 --lr 1e30 --device cpu --output $dir/o.bin"
    "character LSTM, learning rate 1e30, no clipping|lstm train --text $dir/text.txt --hidden 8 --batch-size 4 --unrollings 5 --steps 50 --valid-size 50 --lr 1e30 --clip 0 --device cpu"
    "a truncated checkpoint|lstm generate --checkpoint $dir/cut.ckpt --device cpu"
    "a checkpoint of another kind|caption describe --checkpoint $dir/good.ckpt $dir/images/cut.jpg"
    "a vector file that declares 10¹² words|neighbors --vectors $dir/huge.bin w1"
    "a vector file with a line of 100 MB|neighbors --vectors $dir/long-line.vec the"
    "a corpus with a word of 100 MB|word2vec train --corpus $dir/long-word.txt --min-count 1 --output $dir/o.bin"
    "a pairs file with a line of 100 MB|seq2seq train --pairs $dir/long-line.tsv --steps 1 --device cpu"
    "an unknown word|neighbors --vectors $dir/v.bin nosuchword"
    "a captions file naming a missing image|caption train --images $dir/images --steps 1"
    "a damaged JPEG|caption train --images $dir/images --captions $dir/bad-jpeg.tsv --steps 1"
    "a caption line without a tab|caption train --images $dir/images --captions $dir/no-tab.tsv --steps 1"
)

status=0
{
    echo "| bad input | exit | message |"
    echo "|---|--:|---|"
    for c in "${cases[@]}"; do
        what=${c%%|*} args=${c#*|}
        # shellcheck disable=SC2086
        "$loom" $args > "$dir/out" 2> "$dir/err"
        code=$?
        message=$(tr '\r' '\n' < "$dir/err" | grep -v '^\s*$' | grep -iv '^auto:\|^reading\|^corpus:\|^training:\|^images:\|^model:\|%|' | tail -1 | sed "s|$dir/||g; s/|/\\\\|/g")
        if [ "$code" -eq 0 ] || grep -q "Backtrace\|Fatal error" "$dir/err"; then
            status=1
            message="**FAIL** ($message)"
        fi
        echo "| $what | $code | $message |"
    done
} > "$out"
exit $status
