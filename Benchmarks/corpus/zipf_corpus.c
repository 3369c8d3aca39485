/* Writes a synthetic corpus of WORDS words to standard output: word ranks drawn from a Zipf
 * distribution (weight of rank k ∝ 1/k^S over VOCAB ranks; S = 1 as in English text), each rank
 * spelled as a distinct lower-case string, 20 words a line. For measuring memory and speed on
 * corpora larger than memory; not for judging vectors. Benchmarks/big-corpus.sh builds and runs it.
 *
 *   cc -O2 -o zipf_corpus zipf_corpus.c -lm && ./zipf_corpus WORDS [VOCAB] [S] [SEED] > corpus.txt
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;
static uint64_t next(void) { /* xorshift64* */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: zipf_corpus WORDS [VOCAB] [S] [SEED]\n"); return 2; }
    long long words = atoll(argv[1]);
    long vocab = argc > 2 ? atol(argv[2]) : 200000;
    double s = argc > 3 ? atof(argv[3]) : 1.0;
    state = argc > 4 ? strtoull(argv[4], 0, 10) | 1 : 88172645463325252ULL;
    if (words < 1 || vocab < 1) { fprintf(stderr, "zipf_corpus: WORDS and VOCAB must be positive\n"); return 2; }
    double *cdf = malloc(sizeof(double) * vocab);
    char (*spell)[8] = malloc(8 * (size_t)vocab);
    if (!cdf || !spell) { fprintf(stderr, "zipf_corpus: out of memory\n"); return 1; }
    double total = 0;
    for (long k = 0; k < vocab; ++k) { total += 1.0 / pow((double)(k + 1), s); cdf[k] = total; }
    for (long k = 0; k < vocab; ++k) {
        cdf[k] /= total;
        long x = k; int n = 0; char tmp[8];
        do { tmp[n++] = (char)('a' + x % 26); x /= 26; } while (x > 0 && n < 7);
        for (int i = 0; i < n; ++i) spell[k][i] = tmp[n - 1 - i];
        spell[k][n] = 0;
    }
    static char out[1 << 20];
    size_t used = 0;
    for (long long i = 0; i < words; ++i) {
        double u = (double)(next() >> 11) * (1.0 / 9007199254740992.0);
        long lo = 0, hi = vocab - 1;
        while (lo < hi) { long mid = (lo + hi) / 2; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
        size_t n = strlen(spell[lo]);
        if (used + n + 1 > sizeof out) { fwrite(out, 1, used, stdout); used = 0; }
        memcpy(out + used, spell[lo], n);
        used += n;
        out[used++] = (i % 20 == 19) ? '\n' : ' ';
    }
    fwrite(out, 1, used, stdout);
    return ferror(stdout) ? 1 : 0;
}
