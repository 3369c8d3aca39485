#!/usr/bin/env bash
# Installs what Benchmarks/reproduce.sh runs beside Loom, from Debian and PyPI only:
#   /tmp/baselines/venv       gensim 4.4.0, scikit-learn 1.9.1, openTSNE 1.0.4   (PYTHON)
#   /tmp/baselines/lstm-venv  tensorflow-cpu 2.21.0, torch 2.15.0, sacrebleu 2.6.0, pillow 13.0.0 (LSTM_PYTHON)
#   GNU time (/usr/bin/time) and gcc for the word2vec C tool.
# PyPI's torch wheel for Linux is the CUDA build (about 5 GB with its NVIDIA libraries); it runs on
# the CPU all the same. The word2vec C tool's source is not fetched here: reproduce.sh needs
# WORD2VEC_C pointing at the published word2vec.c (Benchmarks/baselines/README.md says how to get
# it and checks its sha256). Safe to run again: existing environments are kept.
#
#   scripts/setup-baselines.sh [ROOT]     (default ROOT /tmp/baselines)
set -euo pipefail
root=${1:-/tmp/baselines}
mkdir -p "$root"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v gcc >/dev/null || need+=(gcc)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv() {  # folder, packages...
    local dir=$1; shift
    if [ ! -x "$dir/bin/python" ]; then python3 -m venv "$dir"; fi
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    echo "setup-baselines: $dir has $*"
}
venv "$root/venv" gensim==4.4.0 scikit-learn==1.9.1 openTSNE==1.0.4
venv "$root/lstm-venv" tensorflow-cpu==2.21.0 torch==2.15.0 sacrebleu==2.6.0 pillow==13.0.0
echo "setup-baselines: PYTHON=$root/venv/bin/python LSTM_PYTHON=$root/lstm-venv/bin/python"
