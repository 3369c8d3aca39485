/* word2vec with negative sampling, one fused loop per centre word (HogBatch: Ji, Satish, Li,
 * Dubey, "Parallelizing Word2Vec in Shared and Distributed Memory", arXiv 1604.04661).
 *
 * For each surviving centre word, its shrunk window of context rows and the centre plus K
 * negatives drawn once for that window form two small matrices; the scores, the sigmoid and both
 * gradients are small products over rows that stay in L1, and the updates are written back when
 * the window is done. Threads run this on separate runs of sentences without locks (Hogwild), as
 * word2vec.c and gensim do. The random draws are a pure function of (seed, stream, sentence,
 * draw index) — the same on the OpenCL kernel (Kernels/word2vec.cl) — so one worker gives the
 * same result on every run and backend, up to the order of float sums.
 *
 * Instantiated for AVX2+FMA and for the baseline, like kernels.c; the D-long loops vectorise. */
#include "loom_cpu_kernels.h"
#pragma clang diagnostic ignored "-Wpsabi"
#include <stdlib.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE unsigned long long w2v_mix(unsigned long long z) {
    z ^= z >> 30; z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27; z *= 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

INLINE unsigned long long w2v_key(unsigned long long seed, unsigned long long stream, long sentence) {
    return w2v_mix(seed ^ w2v_mix(stream ^ w2v_mix((unsigned long long)sentence + 0x9E3779B97F4A7C15ull)));
}

INLINE unsigned long long w2v_draw(unsigned long long key, long index) {
    return w2v_mix(key + (unsigned long long)(index + 1) * 0x9E3779B97F4A7C15ull);
}

/* σ(f) by the table, with word2vec.c's treatment beyond ±MAX: the gradient factor label − σ.
 * A NaN score (a diverged run) changes nothing here and shows in the loss instead; it must never
 * become a table index. */
INLINE float w2v_error(const float *table, float f, int label) {
    if (f > LOOM_W2V_MAX_EXP) return (float)label - 1.0f;
    if (f < -LOOM_W2V_MAX_EXP) return (float)label;
    if (f != f) return 0.0f;
    return (float)label - table[(int)((f + LOOM_W2V_MAX_EXP) * (LOOM_W2V_TABLE / LOOM_W2V_MAX_EXP / 2))];
}

/* −log σ(f) by the second table: f beyond the table is ≈ 0 above and ≈ −f below. */
INLINE float w2v_loss(const float *table, float f) {
    if (f > LOOM_W2V_MAX_EXP) return 0.0f;
    if (f < -LOOM_W2V_MAX_EXP) return -f;
    if (f != f) return f;
    return table[LOOM_W2V_TABLE + 1 + (int)((f + LOOM_W2V_MAX_EXP) * (LOOM_W2V_TABLE / LOOM_W2V_MAX_EXP / 2))];
}

typedef float w2v_v8f __attribute__((ext_vector_type(8)));

INLINE w2v_v8f w2v_load8(const float *p) { w2v_v8f v; memcpy(&v, p, sizeof v); return v; }

/* Eight-lane partial sums (a strict-order scalar sum would not vectorise). */
INLINE float w2v_dot(const float *restrict a, const float *restrict b, long n) {
    w2v_v8f s0 = (w2v_v8f)0.0f, s1 = (w2v_v8f)0.0f;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += w2v_load8(a + i) * w2v_load8(b + i);
        s1 += w2v_load8(a + i + 8) * w2v_load8(b + i + 8);
    }
    for (; i + 8 <= n; i += 8) s0 += w2v_load8(a + i) * w2v_load8(b + i);
    w2v_v8f v = s0 + s1;
    float total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    for (; i < n; ++i) total += a[i] * b[i];
    return total;
}

INLINE void w2v_axpy(float a, const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; ++i) y[i] += a * x[i];
}

/* Targets of kept centre i: the centre (label 1), then K negatives from the alias table; a
 * negative equal to the centre is skipped (marked −1), as word2vec.c does. */
INLINE void w2v_targets(const loom_w2v_pass *p, unsigned long long key, long L, int i, const int *kept, int *tgt) {
    const long base = L + (long)i * (1 + p->negatives);
    tgt[0] = kept[i];
    for (int k = 1; k <= p->negatives; ++k) {
        const unsigned long long r = w2v_draw(key, base + k);
        const long column = (long)(((r >> 32) * (unsigned long long)p->vocabulary) >> 32);
        const float coin = (float)(r & 0xFFFFFF) * (1.0f / 16777216.0f);
        const int id = coin < p->alias_probability[column] ? (int)column : p->alias_index[column];
        tgt[k] = id == kept[i] ? -1 : id;
    }
}

INLINE void w2v_prefetch(const float *row, long d) {
    for (long i = 0; i < d; i += 16) __builtin_prefetch(row + i, 0, 3);
}

INLINE void body_w2v_sentences(const loom_w2v_pass *p, long first, long count, double *stats) {
    const long D = p->dimension, L = p->sentence_length, V = p->vocabulary;
    const int window = p->window, K = p->negatives, T = K + 1, C = 2 * window;
    const float *sig = p->sigmoid_table;
    float *in = p->input, *out = p->output;
    /* Scratch: kept ids, the window's context ids, targets and their labels, C × T error factors,
     * C gradient rows (skip-gram) or the context sum and its gradient (CBOW). */
    int *kept = malloc(sizeof(int) * (size_t)L);
    int ctx[2 * LOOM_W2V_MAX_WINDOW], tgt[LOOM_W2V_MAX_NEGATIVES + 1], next[LOOM_W2V_MAX_NEGATIVES + 1];
    float *g = malloc(sizeof(float) * (size_t)(C * T));
    float *grad = malloc(sizeof(float) * (size_t)((C + 1) * D));
    double loss = 0, pairs = 0;
    for (long s = first; s < first + count; ++s) {
        const long begin = (s - p->corpus_first) * L, end = begin + L < p->corpus_length ? begin + L : p->corpus_length;
        const unsigned long long key = w2v_key(p->seed, p->stream, s);
        const float lr = p->learning_rate + (p->final_learning_rate - p->learning_rate)
                         * (float)(s - p->pass_first) / (float)(p->pass_count > 0 ? p->pass_count : 1);
        /* Subsampling: draw q of the sentence decides word q. */
        int n = 0;
        for (long q = begin; q < end; ++q) {
            const int w = p->corpus[q];
            const float keep = p->keep[w];
            if (keep >= 1.0f || (float)(w2v_draw(key, q - begin) >> 40) * (1.0f / 16777216.0f) < keep) kept[n++] = w;
        }
        /* The targets of centre i + 1 are drawn while centre i trains, and their rows (random
         * ones, mostly not in cache) prefetched, with the row entering the window next. */
        if (n > 0) w2v_targets(p, key, L, 0, kept, next);
        for (int i = 0; i < n; ++i) {
            const long base = L + (long)i * (1 + K);
            const int reach = window - (int)((unsigned)(w2v_draw(key, base) >> 32) % (unsigned)window);
            int c = 0;
            for (int j = i - reach; j <= i + reach; ++j)
                if (j != i && j >= 0 && j < n) ctx[c++] = kept[j];
            memcpy(tgt, next, sizeof(int) * (size_t)T);
            if (i + 1 < n) {
                w2v_targets(p, key, L, i + 1, kept, next);
                for (int t = 1; t < T; ++t)
                    if (next[t] >= 0) w2v_prefetch(out + (long)next[t] * D, D);
                w2v_prefetch(out + (long)kept[i + 1] * D, D);
                if (i + 1 + window < n) w2v_prefetch(in + (long)kept[i + 1 + window] * D, D);
            }
            if (c == 0) continue;
            if (!p->cbow) {
                /* Errors of every (context, target) pair from the current rows. */
                for (int a = 0; a < c; ++a) {
                    const float *x = in + (long)ctx[a] * D;
                    for (int t = 0; t < T; ++t) {
                        if (tgt[t] < 0) { g[a * T + t] = 0; continue; }
                        const float f = w2v_dot(x, out + (long)tgt[t] * D, D);
                        g[a * T + t] = w2v_error(sig, f, t == 0) * lr;
                        loss += w2v_loss(sig, t == 0 ? f : -f);
                    }
                }
                pairs += c;
                /* Input gradients from the old output rows, then the output rows move (reading
                 * the old input rows), then the input rows. */
                for (int a = 0; a < c; ++a) {
                    float *ga = grad + (long)a * D;
                    memset(ga, 0, sizeof(float) * (size_t)D);
                    for (int t = 0; t < T; ++t)
                        if (tgt[t] >= 0) w2v_axpy(g[a * T + t], out + (long)tgt[t] * D, ga, D);
                }
                for (int t = 0; t < T; ++t) {
                    if (tgt[t] < 0) continue;
                    float *y = out + (long)tgt[t] * D;
                    for (int a = 0; a < c; ++a) w2v_axpy(g[a * T + t], in + (long)ctx[a] * D, y, D);
                }
                for (int a = 0; a < c; ++a) w2v_axpy(1.0f, grad + (long)a * D, in + (long)ctx[a] * D, D);
            } else {
                /* CBOW: h = Σ (or mean of) the context rows predicts the centre. */
                float *h = grad, *gh = grad + D;
                memset(h, 0, sizeof(float) * (size_t)D);
                for (int a = 0; a < c; ++a) w2v_axpy(1.0f, in + (long)ctx[a] * D, h, D);
                if (p->cbow_mean) {
                    const float inv = 1.0f / (float)c;
                    for (long d = 0; d < D; ++d) h[d] *= inv;
                }
                for (int t = 0; t < T; ++t) {
                    if (tgt[t] < 0) { g[t] = 0; continue; }
                    const float f = w2v_dot(h, out + (long)tgt[t] * D, D);
                    g[t] = w2v_error(sig, f, t == 0) * lr;
                    loss += w2v_loss(sig, t == 0 ? f : -f);
                }
                pairs += 1;
                memset(gh, 0, sizeof(float) * (size_t)D);
                for (int t = 0; t < T; ++t)
                    if (tgt[t] >= 0) w2v_axpy(g[t], out + (long)tgt[t] * D, gh, D);
                for (int t = 0; t < T; ++t)
                    if (tgt[t] >= 0) w2v_axpy(g[t], h, out + (long)tgt[t] * D, D);
                /* Every context row gets the whole gradient, mean or not (word2vec.c, gensim). */
                for (int a = 0; a < c; ++a) w2v_axpy(1.0f, gh, in + (long)ctx[a] * D, D);
            }
        }
    }
    free(kept);
    free(g);
    free(grad);
    stats[0] += loss;
    stats[1] += pairs;
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx2,fma"))) static void w2v_sentences_avx2(const loom_w2v_pass *p, long first, long count,
                                                                   double *stats) {
    body_w2v_sentences(p, first, count, stats);
}
#define HAVE_W2V_AVX2 1
#endif

static void w2v_sentences_base(const loom_w2v_pass *p, long first, long count, double *stats) {
    body_w2v_sentences(p, first, count, stats);
}

void loom_w2v_sentences(const loom_w2v_pass *p, long first, long count, double *stats) {
#ifdef HAVE_W2V_AVX2
    if (loom_cpu_kernel_level() >= 1) { w2v_sentences_avx2(p, first, count, stats); return; }
#endif
    w2v_sentences_base(p, first, count, stats);
}

unsigned long long loom_w2v_draw(unsigned long long seed, unsigned long long stream, long sentence, long index) {
    return w2v_draw(w2v_key(seed, stream, sentence), index);
}
