// word2vec.cl — word2vec with negative sampling over whole sentences, one fused step per centre
// word (HogBatch), the device half of Backend.word2vecPass. The CPU reference is
// Sources/_LoomCPUKernels/word2vec.c; the random draws and the arithmetic are the same.
//
// A persistent kernel: work-group g trains sentences first + g, first + g + groups, …; the corpus,
// the tables and the learning-rate schedule are on the device, so a whole pass is one launch.
// In a sentence, item 0 subsamples the words into local memory; then for each centre item 0
// draws its window and negatives, the group scores every (context, target) pair (one pair per
// item; g holds their 2·window × (K + 1) error factors), and each item owns a slice of the D columns for the updates. Groups write the shared
// tables without locks (Hogwild), as the CPU threads do.

#define W2V_TABLE 1000
#define W2V_MAX_EXP 6.0f
#define W2V_MAX_CONTEXTS 128   // 2 × Word2VecPass.maxWindow
#define W2V_MAX_TARGETS 65     // Word2VecPass.maxNegatives + 1

inline ulong w2v_mix(ulong z) {
    z ^= z >> 30; z *= 0xBF58476D1CE4E5B9UL;
    z ^= z >> 27; z *= 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

inline ulong w2v_key(ulong seed, ulong stream, long sentence) {
    return w2v_mix(seed ^ w2v_mix(stream ^ w2v_mix((ulong)sentence + 0x9E3779B97F4A7C15UL)));
}

inline ulong w2v_draw(ulong key, long index) { return w2v_mix(key + (ulong)(index + 1) * 0x9E3779B97F4A7C15UL); }

inline float w2v_error(__global const float* table, float f, int label) {
    if (f > W2V_MAX_EXP) return (float)label - 1.0f;
    if (f < -W2V_MAX_EXP) return (float)label;
    if (isnan(f)) return 0.0f;   // a diverged run: the loss shows it; never a table index
    return (float)label - table[(int)((f + W2V_MAX_EXP) * (W2V_TABLE / W2V_MAX_EXP / 2))];
}

inline float w2v_loss(__global const float* table, float f) {
    if (f > W2V_MAX_EXP) return 0.0f;
    if (f < -W2V_MAX_EXP) return -f;
    if (isnan(f)) return f;
    return table[W2V_TABLE + 1 + (int)((f + W2V_MAX_EXP) * (W2V_TABLE / W2V_MAX_EXP / 2))];
}

__kernel void w2v_pass(__global const int* corpus, int corpus_off, int corpus_length, int corpus_first,
                       __global const float* keep, int keep_off,
                       __global const float* aprob, int aprob_off,
                       __global const int* aidx, int aidx_off, int V,
                       __global const float* table, int table_off,
                       __global float* in, int in_off, __global float* out, int out_off, int D,
                       int cbow, int cbow_mean, int window, int K, int L,
                       int first, int count, float lr0, float lr1, ulong seed, ulong stream,
                       __global float* stats, int stats_off, volatile __global int* err,
                       __local int* kept, __local float* g, __local float* h, __local float* scratch) {
    corpus += corpus_off; keep += keep_off; aprob += aprob_off; aidx += aidx_off; table += table_off;
    in += in_off; out += out_off; stats += stats_off;
    const int lid = get_local_id(0), nl = get_local_size(0);
    const int T = K + 1;
    __local int ctx[W2V_MAX_CONTEXTS], tgt[W2V_MAX_TARGETS];
    __local int shared_n, shared_c;
    float loss = 0.0f, pairs = 0.0f;
    for (int s = first + get_group_id(0); s < first + count; s += get_num_groups(0)) {
        const long begin = (long)(s - corpus_first) * L;
        const long end = min(begin + L, (long)corpus_length);
        const ulong key = w2v_key(seed, stream, s);
        const float lr = lr0 + (lr1 - lr0) * (float)(s - first) / (float)max(count, 1);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            int n = 0;
            for (long q = begin; q < end; ++q) {
                const int w = corpus[q];
                if (w < 0 || w >= V) { loom_flag(err, LOOM_ERR_WORD2VEC, w, V); continue; }
                const float p = keep[w];
                if (p >= 1.0f || (float)(w2v_draw(key, q - begin) >> 40) * (1.0f / 16777216.0f) < p) kept[n++] = w;
            }
            shared_n = n;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = shared_n;
        for (int i = 0; i < n; ++i) {
            const long base = L + (long)i * (1 + K);
            barrier(CLK_LOCAL_MEM_FENCE);   // the previous centre is done with ctx, tgt, g
            if (lid == 0) {
                const int reach = window - (int)((uint)(w2v_draw(key, base) >> 32) % (uint)window);
                int c = 0;
                for (int j = i - reach; j <= i + reach; ++j)
                    if (j != i && j >= 0 && j < n) ctx[c++] = kept[j];
                shared_c = c;
                tgt[0] = kept[i];
                for (int k = 1; k <= K; ++k) {
                    const ulong r = w2v_draw(key, base + k);
                    const long column = (long)(((r >> 32) * (ulong)V) >> 32);
                    const float coin = (float)(r & 0xFFFFFF) * (1.0f / 16777216.0f);
                    const int id = coin < aprob[column] ? (int)column : aidx[column];
                    tgt[k] = (id == kept[i] || id < 0 || id >= V) ? -1 : id;
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            const int c = shared_c;
            if (c == 0) continue;
            if (!cbow) {
                for (int pi = lid; pi < c * T; pi += nl) {
                    const int a = pi / T, t = pi - a * T;
                    if (tgt[t] < 0) { g[pi] = 0.0f; continue; }
                    __global const float* x = in + (long)ctx[a] * D;
                    __global const float* y = out + (long)tgt[t] * D;
                    float f = 0.0f;
                    for (int d = 0; d < D; ++d) f += x[d] * y[d];
                    g[pi] = w2v_error(table, f, t == 0) * lr;
                    loss += w2v_loss(table, t == 0 ? f : -f);
                }
                if (lid == 0) pairs += c;
                barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
                for (int d = lid; d < D; d += nl) {
                    float o[W2V_MAX_TARGETS];
                    for (int t = 0; t < T; ++t) o[t] = tgt[t] >= 0 ? out[(long)tgt[t] * D + d] : 0.0f;
                    // Output rows from the old input rows, then the input rows from the old output rows.
                    for (int t = 0; t < T; ++t) {
                        if (tgt[t] < 0) continue;
                        float acc = 0.0f;
                        for (int a = 0; a < c; ++a) acc += g[a * T + t] * in[(long)ctx[a] * D + d];
                        out[(long)tgt[t] * D + d] += acc;
                    }
                    for (int a = 0; a < c; ++a) {
                        float acc = 0.0f;
                        for (int t = 0; t < T; ++t) acc += g[a * T + t] * o[t];
                        in[(long)ctx[a] * D + d] += acc;
                    }
                }
            } else {
                const float inv = cbow_mean ? 1.0f / (float)c : 1.0f;
                for (int d = lid; d < D; d += nl) {
                    float acc = 0.0f;
                    for (int a = 0; a < c; ++a) acc += in[(long)ctx[a] * D + d];
                    h[d] = cbow_mean ? acc * inv : acc;
                }
                barrier(CLK_LOCAL_MEM_FENCE);
                for (int t = lid; t < T; t += nl) {
                    if (tgt[t] < 0) { g[t] = 0.0f; continue; }
                    __global const float* y = out + (long)tgt[t] * D;
                    float f = 0.0f;
                    for (int d = 0; d < D; ++d) f += h[d] * y[d];
                    g[t] = w2v_error(table, f, t == 0) * lr;
                    loss += w2v_loss(table, t == 0 ? f : -f);
                }
                if (lid == 0) pairs += 1.0f;
                barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
                for (int d = lid; d < D; d += nl) {
                    float gh = 0.0f;
                    for (int t = 0; t < T; ++t)
                        if (tgt[t] >= 0) gh += g[t] * out[(long)tgt[t] * D + d];
                    for (int t = 0; t < T; ++t)
                        if (tgt[t] >= 0) out[(long)tgt[t] * D + d] += g[t] * h[d];
                    for (int a = 0; a < c; ++a) in[(long)ctx[a] * D + d] += gh;
                }
            }
            barrier(CLK_GLOBAL_MEM_FENCE);   // the next centre reads the rows this one wrote
        }
    }
    const float total_loss = group_sum(scratch, loss);
    const float total_pairs = group_sum(scratch, pairs);
    if (lid == 0) {
        atomic_add_f32(stats, total_loss);
        atomic_add_f32(stats + 1, total_pairs);
    }
}
