/* Hot loops of the CPU backend (see include/loom_cpu_kernels.h).
 *
 * Every kernel body is a static inline function written as plain loops; it is instantiated twice,
 * once inside a function compiled with __attribute__((target("avx2,fma"))) and once for the
 * baseline, and a table picks the set once, from what the CPU supports. The loops vectorise
 * because the transcendental functions below are branch-free polynomials (Cephes), not libm calls.
 */
#include "loom_cpu_kernels.h"
#pragma clang diagnostic ignored "-Wpsabi"
#include <stdlib.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
/* The bodies are written in explicit 8-lane vectors; the auto-vectoriser, let loose on them, has
 * been seen to re-vectorise the outer (row) loops and leave the hot path scalar (several times
 * slower: Benchmarks/RESULTS.md, "Design measurements"). */
#define PLAIN_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")

INLINE float bits_to_float(int i) { float f; memcpy(&f, &i, 4); return f; }
INLINE int float_to_bits(float f) { int i; memcpy(&i, &f, 4); return i; }

/* e^x on [-87, 88] (clamped), relative error about 1e-7. */
INLINE float k_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f; /* 1.5·2^23: adding it rounds to an integer */
    float t = x * 1.44269504f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int k = float_to_bits(t) - float_to_bits(magic);
    return p * bits_to_float((k + 127) << 23);
}

INLINE float k_sigmoid(float x) { return 1.0f / (1.0f + k_exp(-x)); }

/* tanh x = 2σ(2x) − 1 = (1 − e)/(1 + e) with e = e^{−2|x|}, sign restored; absolute error ~1e-7. */
INLINE float k_tanh(float x) {
    float a = x < 0 ? -x : x;
    float e = k_exp(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    return x < 0 ? -t : t;
}


/* Eight lanes with clang's vector extensions: AVX registers in the AVX2 build, pairs of SSE
 * registers in the baseline build. Loads and stores go through memcpy (unaligned, no aliasing UB). */
typedef float v8f __attribute__((ext_vector_type(8)));
typedef int v8i __attribute__((ext_vector_type(8)));

INLINE v8f load8(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }
INLINE void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }
INLINE v8f splat(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

INLINE v8f v_exp(v8f x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, splat(-87.0f)), splat(88.0f));
    const v8f magic = splat(12582912.0f);
    v8f t = x * 1.44269504f + magic;
    v8f n = t - magic;
    v8f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v8f p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    v8i k = __builtin_bit_cast(v8i, t) - __builtin_bit_cast(v8i, magic);
    return p * __builtin_bit_cast(v8f, (k + 127) << 23);
}

INLINE v8f v_sigmoid(v8f x) { return 1.0f / (1.0f + v_exp(-x)); }

INLINE v8f v_tanh(v8f x) {
    v8f a = __builtin_elementwise_abs(x);
    v8f e = v_exp(-2.0f * a);
    v8f t = (1.0f - e) / (1.0f + e);
    v8i sign = __builtin_bit_cast(v8i, x) & (int)0x80000000;
    return __builtin_bit_cast(v8f, __builtin_bit_cast(v8i, t) | sign);
}

INLINE void body_lstm_forward(float *gates, const float *c_prev, float *c, float *h, long rows, long hidden) {
    PLAIN_LOOP
    for (long r = 0; r < rows; ++r) {
        float *gi = gates + r * 4 * hidden, *gf = gi + hidden, *go = gf + hidden, *gg = go + hidden;
        const float *cp = c_prev + r * hidden;
        float *cr = c + r * hidden, *hr = h + r * hidden;
        long k = 0;
        PLAIN_LOOP
        for (; k + 8 <= hidden; k += 8) {
            v8f i = v_sigmoid(load8(gi + k)), f = v_sigmoid(load8(gf + k)), o = v_sigmoid(load8(go + k));
            v8f g = v_tanh(load8(gg + k));
            store8(gi + k, i); store8(gf + k, f); store8(go + k, o); store8(gg + k, g);
            v8f ct = f * load8(cp + k) + i * g;
            store8(cr + k, ct);
            store8(hr + k, o * v_tanh(ct));
        }
        PLAIN_LOOP
        for (; k < hidden; ++k) {
            float i = k_sigmoid(gi[k]), f = k_sigmoid(gf[k]), o = k_sigmoid(go[k]), g = k_tanh(gg[k]);
            gi[k] = i; gf[k] = f; go[k] = o; gg[k] = g;
            float ct = f * cp[k] + i * g;
            cr[k] = ct;
            hr[k] = o * k_tanh(ct);
        }
    }
}

INLINE void body_lstm_backward(const float *gates, const float *c_prev, const float *c, const float *dh, float *dc,
                               float *dgates, long rows, long hidden) {
    PLAIN_LOOP
    for (long r = 0; r < rows; ++r) {
        const float *gi = gates + r * 4 * hidden, *gf = gi + hidden, *go = gf + hidden, *gg = go + hidden;
        float *di = dgates + r * 4 * hidden, *df = di + hidden, *dO = df + hidden, *dg = dO + hidden;
        const float *cp = c_prev + r * hidden, *cr = c + r * hidden, *dhr = dh + r * hidden;
        float *dcr = dc + r * hidden;
        long k = 0;
        PLAIN_LOOP
        for (; k + 8 <= hidden; k += 8) {
            v8f i = load8(gi + k), f = load8(gf + k), o = load8(go + k), g = load8(gg + k);
            v8f tc = v_tanh(load8(cr + k)), dhk = load8(dhr + k);
            v8f dct = load8(dcr + k) + dhk * o * (1.0f - tc * tc);
            store8(di + k, dct * g * i * (1.0f - i));
            store8(df + k, dct * load8(cp + k) * f * (1.0f - f));
            store8(dO + k, dhk * tc * o * (1.0f - o));
            store8(dg + k, dct * i * (1.0f - g * g));
            store8(dcr + k, dct * f);
        }
        PLAIN_LOOP
        for (; k < hidden; ++k) {
            float i = gi[k], f = gf[k], o = go[k], g = gg[k];
            float tc = k_tanh(cr[k]);
            float dct = dcr[k] + dhr[k] * o * (1.0f - tc * tc);
            di[k] = dct * g * i * (1.0f - i);
            df[k] = dct * cp[k] * f * (1.0f - f);
            dO[k] = dhr[k] * tc * o * (1.0f - o);
            dg[k] = dct * i * (1.0f - g * g);
            dcr[k] = dct * f;
        }
    }
}

INLINE void body_sigmoid(const float *x, float *y, long n) {
    long i = 0;
    PLAIN_LOOP
    for (; i + 8 <= n; i += 8) store8(y + i, v_sigmoid(load8(x + i)));
    PLAIN_LOOP
    for (; i < n; ++i) y[i] = k_sigmoid(x[i]);
}

INLINE void body_tanh(const float *x, float *y, long n) {
    long i = 0;
    PLAIN_LOOP
    for (; i + 8 <= n; i += 8) store8(y + i, v_tanh(load8(x + i)));
    PLAIN_LOOP
    for (; i < n; ++i) y[i] = k_tanh(x[i]);
}

INLINE float body_softmax_row(const float *z, float *out, long n) {
    float m = z[0];
    PLAIN_LOOP
    for (long j = 1; j < n; ++j) m = z[j] > m ? z[j] : m;
    v8f acc = splat(0.0f);
    long j = 0;
    PLAIN_LOOP
    for (; j + 8 <= n; j += 8) {
        v8f e = v_exp(load8(z + j) - m);
        store8(out + j, e);
        acc += e;
    }
    float s = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    PLAIN_LOOP
    for (; j < n; ++j) {
        float e = k_exp(z[j] - m);
        out[j] = e;
        s += e;
    }
    float inv = 1.0f / s;
    PLAIN_LOOP
    for (j = 0; j < n; ++j) out[j] *= inv;
    return m + __builtin_logf(s);
}

INLINE float body_dot(const float *a, const float *b, long n) {
    v8f s0 = splat(0.0f), s1 = splat(0.0f);
    long i = 0;
    PLAIN_LOOP
    for (; i + 16 <= n; i += 16) {
        s0 += load8(a + i) * load8(b + i);
        s1 += load8(a + i + 8) * load8(b + i + 8);
    }
    PLAIN_LOOP
    for (; i + 8 <= n; i += 8) s0 += load8(a + i) * load8(b + i);
    v8f s = s0 + s1;
    float total = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
    PLAIN_LOOP
    for (; i < n; ++i) total += a[i] * b[i];
    return total;
}

INLINE void body_axpy(float alpha, const float *x, float *y, long n) {
    const v8f a = splat(alpha);
    long i = 0;
    PLAIN_LOOP
    for (; i + 16 <= n; i += 16) {
        store8(y + i, load8(y + i) + a * load8(x + i));
        store8(y + i + 8, load8(y + i + 8) + a * load8(x + i + 8));
    }
    PLAIN_LOOP
    for (; i + 8 <= n; i += 8) store8(y + i, load8(y + i) + a * load8(x + i));
    PLAIN_LOOP
    for (; i < n; ++i) y[i] += alpha * x[i];
}

/* Philox4x32-10 (Random123) on eight counters at once; the same function as Philox.philox4x32_10
 * in Swift and philox4x32_10 in Kernels/common.cl. */
typedef unsigned v8u __attribute__((ext_vector_type(8)));
typedef unsigned long long v8u64 __attribute__((ext_vector_type(8)));

INLINE void v_philox(v8u *x, v8u *y, v8u *z, v8u *w, unsigned k0, unsigned k1) {
    PLAIN_LOOP
    for (int round = 0; round < 10; ++round) {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        v8u64 p0 = __builtin_convertvector(*x, v8u64) * 0xD2511F53ull;
        v8u64 p1 = __builtin_convertvector(*z, v8u64) * 0xCD9E8D57ull;
        v8u hi1 = __builtin_convertvector(p1 >> 32, v8u), lo1 = __builtin_convertvector(p1, v8u);
        v8u hi0 = __builtin_convertvector(p0 >> 32, v8u), lo0 = __builtin_convertvector(p0, v8u);
        v8u nx = hi1 ^ *y ^ k0, nz = hi0 ^ *w ^ k1;
        *x = nx; *y = lo1; *z = nz; *w = lo0;
    }
}

INLINE void body_dropout(const float *in, float *out, long begin, long end, unsigned threshold, float inverse,
                         unsigned long long seed, unsigned long long stream) {
    const unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
    const unsigned s0 = (unsigned)stream, s1 = (unsigned)(stream >> 32);
    /* Element i is word i % 4 of block i / 4; eight blocks (32 elements) per pass. */
    PLAIN_LOOP
    for (long block = begin >> 2; block << 2 < end; block += 8) {
        v8u x, y, z = (v8u)s0, w = (v8u)s1;
        PLAIN_LOOP
        for (int l = 0; l < 8; ++l) {
            unsigned long long b = (unsigned long long)(block + l);
            x[l] = (unsigned)b; y[l] = (unsigned)(b >> 32);
        }
        v_philox(&x, &y, &z, &w, k0, k1);
        unsigned words[4][8];
        memcpy(words[0], &x, 32); memcpy(words[1], &y, 32); memcpy(words[2], &z, 32); memcpy(words[3], &w, 32);
        const long first = block << 2;
        if (first >= begin && first + 32 <= end) {
            PLAIN_LOOP
            for (int e = 0; e < 32; ++e) {
                const long i = first + e;
                out[i] = (words[e & 3][e >> 2] >> 8) < threshold ? in[i] * inverse : 0.0f;
            }
        } else {
            PLAIN_LOOP
            for (int e = 0; e < 32; ++e) {
                const long i = first + e;
                if (i >= begin && i < end) out[i] = (words[e & 3][e >> 2] >> 8) < threshold ? in[i] * inverse : 0.0f;
            }
        }
    }
}

/* One max-pool output pixel: the maximum over `count` window pixels of each of `c` channels,
 * the window's pixels starting at x + offsets[j]; the first pixel sets the maximum and later
 * ones replace it only when strictly larger. argmax gets offsets[j] + k of the winner. */
INLINE void body_max_pool_pixel(const float *restrict x, const long *offsets, int count, long c, float *restrict out,
                                int *restrict argmax) {
    const float *p = x + offsets[0];
    const int b0 = (int)offsets[0];
    for (long k = 0; k < c; ++k) { out[k] = p[k]; argmax[k] = b0 + (int)k; }
    for (int j = 1; j < count; ++j) {
        const float *q = x + offsets[j];
        const int b = (int)offsets[j];
        for (long k = 0; k < c; ++k) {
            const float v = q[k];
            const int larger = v > out[k];
            out[k] = larger ? v : out[k];
            argmax[k] = larger ? b + (int)k : argmax[k];
        }
    }
}

/* Two instantiations of every kernel. */
#define INSTANTIATE(suffix, attributes)                                                                        \
    attributes static void lstm_forward_##suffix(float *g, const float *cp, float *c, float *h, long r, long k) { \
        body_lstm_forward(g, cp, c, h, r, k);                                                                  \
    }                                                                                                          \
    attributes static void lstm_backward_##suffix(const float *g, const float *cp, const float *c, const float *dh, \
                                                  float *dc, float *dg, long r, long k) {                      \
        body_lstm_backward(g, cp, c, dh, dc, dg, r, k);                                                        \
    }                                                                                                          \
    attributes static void sigmoid_##suffix(const float *x, float *y, long n) { body_sigmoid(x, y, n); }        \
    attributes static void tanh_##suffix(const float *x, float *y, long n) { body_tanh(x, y, n); }              \
    attributes static float softmax_row_##suffix(const float *z, float *o, long n) { return body_softmax_row(z, o, n); } \
    attributes static float dot_##suffix(const float *a, const float *b, long n) { return body_dot(a, b, n); }  \
    attributes static void axpy_##suffix(float a, const float *x, float *y, long n) { body_axpy(a, x, y, n); } \
    attributes static void dropout_##suffix(const float *x, float *o, long b, long e, unsigned t, float inv,     \
                                            unsigned long long seed, unsigned long long stream) {             \
        body_dropout(x, o, b, e, t, inv, seed, stream);                                                        \
    }                                                                                                          \
    attributes static void max_pool_pixel_##suffix(const float *x, const long *off, int n, long c, float *o, int *a) { \
        body_max_pool_pixel(x, off, n, c, o, a);                                                               \
    }

#if defined(__x86_64__) && defined(__clang__)
INSTANTIATE(avx2, __attribute__((target("avx2,fma"))))
#define HAVE_AVX2_SET 1
#endif
INSTANTIATE(base, )

typedef struct {
    const char *name;
    void (*lstm_forward)(float *, const float *, float *, float *, long, long);
    void (*lstm_backward)(const float *, const float *, const float *, const float *, float *, float *, long, long);
    void (*sigmoid)(const float *, float *, long);
    void (*tanh)(const float *, float *, long);
    float (*softmax_row)(const float *, float *, long);
    float (*dot)(const float *, const float *, long);
    void (*axpy)(float, const float *, float *, long);
    void (*dropout)(const float *, float *, long, long, unsigned, float, unsigned long long, unsigned long long);
    void (*max_pool_pixel)(const float *, const long *, int, long, float *, int *);
} kernel_set;

static const kernel_set base_set = {"baseline", lstm_forward_base, lstm_backward_base, sigmoid_base, tanh_base,
                                    softmax_row_base, dot_base, axpy_base, dropout_base, max_pool_pixel_base};
#ifdef HAVE_AVX2_SET
static const kernel_set avx2_set = {"avx2+fma", lstm_forward_avx2, lstm_backward_avx2, sigmoid_avx2, tanh_avx2,
                                    softmax_row_avx2, dot_avx2, axpy_avx2, dropout_avx2, max_pool_pixel_avx2};
#endif

static const kernel_set *chosen(void) {
    static const kernel_set *set = 0;
    if (!set) {
        const kernel_set *pick = &base_set;
#ifdef HAVE_AVX2_SET
        if (loom_cpu_kernel_level() >= 1) pick = &avx2_set;
#endif
        set = pick; /* idempotent: a race writes the same pointer */
    }
    return set;
}

const char *loom_cpu_kernel_isa(void) { return chosen()->name; }

int loom_cpu_kernel_level(void) {
    const char *force = getenv("LOOM_CPU_KERNELS");
    if (force && strcmp(force, "baseline") == 0) return 0;
    return loom_cpu_vector_level();
}

int loom_cpu_vector_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}
void loom_lstm_forward(float *g, const float *cp, float *c, float *h, long r, long k) { chosen()->lstm_forward(g, cp, c, h, r, k); }
void loom_lstm_backward(const float *g, const float *cp, const float *c, const float *dh, float *dc, float *dg, long r, long k) {
    chosen()->lstm_backward(g, cp, c, dh, dc, dg, r, k);
}
void loom_sigmoid(const float *x, float *y, long n) { chosen()->sigmoid(x, y, n); }
void loom_tanh(const float *x, float *y, long n) { chosen()->tanh(x, y, n); }
float loom_softmax_row(const float *z, float *o, long n) { return chosen()->softmax_row(z, o, n); }
float loom_dot(const float *a, const float *b, long n) { return chosen()->dot(a, b, n); }
void loom_axpy(float a, const float *x, float *y, long n) { chosen()->axpy(a, x, y, n); }
void loom_dropout(const float *x, float *out, long begin, long end, unsigned threshold, float inverse,
                  unsigned long long seed, unsigned long long stream) {
    chosen()->dropout(x, out, begin, end, threshold, inverse, seed, stream);
}
void loom_max_pool_pixel(const float *x, const long *offsets, int count, long c, float *out, int *argmax) {
    chosen()->max_pool_pixel(x, offsets, count, c, out, argmax);
}
