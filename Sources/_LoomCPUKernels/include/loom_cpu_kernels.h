#ifndef LOOM_CPU_KERNELS_H
#define LOOM_CPU_KERNELS_H
/* Hot inner loops of Loom's CPU backend, in C so they can be compiled twice — for AVX2+FMA and
 * for the baseline x86-64 (SSE2) — and chosen at run time. The Swift code in LoomCPU remains the
 * place where shapes are checked and work is split over threads; these functions only loop.
 * Not API: the underscore module is an implementation detail. */

#ifdef __cplusplus
extern "C" {
#endif

/* Which instruction set the kernels run with: "avx2+fma" or "baseline". */
const char *loom_cpu_kernel_isa(void);

/* What the CPU supports, for choosing other libraries' kernels: 2 = AVX-512 (F, CD, BW, DQ, VL),
 * 1 = AVX2 and FMA, 0 = neither. */
int loom_cpu_vector_level(void);
/* The level the kernels use: loom_cpu_vector_level(), or 0 when the environment variable
 * LOOM_CPU_KERNELS is "baseline" (to run the baseline build on an AVX2 machine). */
int loom_cpu_kernel_level(void);

/* Fused LSTM pointwise step over `rows` rows of `hidden` units.
 * gates: (rows, 4·hidden) [i | f | o | g] preactivations in, activations out;
 * c_prev, c, h: (rows, hidden). c = f·c_prev + i·g, h = o·tanh(c). */
void loom_lstm_forward(float *gates, const float *c_prev, float *c, float *h, long rows, long hidden);

/* Backward of loom_lstm_forward. dc: in, gradient w.r.t. c from later steps; out, w.r.t. c_prev.
 * dgates: (rows, 4·hidden) gradient w.r.t. the preactivations. */
void loom_lstm_backward(const float *gates, const float *c_prev, const float *c, const float *dh, float *dc,
                        float *dgates, long rows, long hidden);

/* y = σ(x), y = tanh(x) (y may be x). */
void loom_sigmoid(const float *x, float *y, long n);
void loom_tanh(const float *x, float *y, long n);

/* out = softmax(z) over n values (out may be z); returns log Σ exp z. */
float loom_softmax_row(const float *z, float *out, long n);

/* Σ a·b, and y += alpha·x. */
float loom_dot(const float *a, const float *b, long n);
void loom_axpy(float alpha, const float *x, float *y, long n);

/* Dropout of elements begin..<end: out[i] = x[i]·inverse where the 24-bit Philox draw of element i
 * (word i % 4 of Philox4x32-10 block i / 4, counter (block, stream), key seed), shifted right by 8,
 * is below threshold; 0 elsewhere. The same draws as Philox.word in Swift and the OpenCL kernels. */
void loom_dropout(const float *x, float *out, long begin, long end, unsigned threshold, float inverse,
                  unsigned long long seed, unsigned long long stream);

/* One max-pool output pixel over `count` ≥ 1 window pixels at x + offsets[j], c channels each:
 * out[k] = the first maximum of x[offsets[j] + k] over j, argmax[k] = its offsets[j] + k. */
void loom_max_pool_pixel(const float *x, const long *offsets, int count, long c, float *out, int *argmax);

/* word2vec with negative sampling, fused per centre word (HogBatch); see word2vec.c. */
#define LOOM_W2V_TABLE 1000
#define LOOM_W2V_MAX_EXP 6.0f
#define LOOM_W2V_MAX_WINDOW 64
#define LOOM_W2V_MAX_NEGATIVES 64

typedef struct {
    /* corpus: ids in 0..<vocabulary, in sentences of sentence_length from position 0. */
    const int *corpus;
    long corpus_length;
    /* The sentence corpus[0] starts (0 for a whole corpus; a window's first sentence otherwise). */
    long corpus_first;
    /* Per word: the probability of keeping it (subsampling; ≥ 1 always), and the unigram^0.75
     * alias table the negatives come from. */
    const float *keep;
    const float *alias_probability;
    const int *alias_index;
    long vocabulary;
    /* 2 × (LOOM_W2V_TABLE + 1): σ(x), then −log σ(x), at x = (i / TABLE · 2 − 1) · MAX_EXP. */
    const float *sigmoid_table;
    /* (vocabulary, dimension) each: the word vectors (syn0) and the output rows (syn1neg). */
    float *input;
    float *output;
    long dimension;
    int cbow, cbow_mean, window, negatives, sentence_length;
    unsigned long long seed, stream;
    /* The rate at sentence pass_first and the rate at pass_first + pass_count, linear between. */
    float learning_rate, final_learning_rate;
    long pass_first, pass_count;
} loom_w2v_pass;

/* Trains sentences first..<first + count in order, updating input and output in place (other
 * threads may update them at the same time); adds Σ loss to stats[0] and the pairs (skip-gram:
 * context, centre; CBOW: centres) to stats[1]. */
void loom_w2v_sentences(const loom_w2v_pass *pass, long first, long count, double *stats);

/* Draw `index` of sentence `sentence`: the random numbers both backends use. */
unsigned long long loom_w2v_draw(unsigned long long seed, unsigned long long stream, long sentence, long index);

#ifdef __cplusplus
}
#endif
#endif
