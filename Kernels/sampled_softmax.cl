// sampled_softmax.cl — TensorFlow's sampled_softmax_loss, forward and backward, fused.
// Candidates of example i: c_0 = labels[i], c_{1+j} = sampled[j] (shared by the batch).

inline int candidate(int j, int label, __global const int* sampled) { return j == 0 ? label : sampled[j - 1]; }

// One power-of-two work-group per example: logits, loss, dlogits (into dz), and the gradients that
// belong to the example alone: dh[i], the label's row and bias.
__kernel void sampled_softmax_example(
        __global const float* h, int h_off, __global const int* labels, int labels_off,
        __global const int* sampled, int sampled_off, __global const float* lqy, int lqy_off,
        __global const float* lqs, int lqs_off, __global const float* w, int w_off,
        __global const float* bias, int bias_off,
        __global float* losses, int losses_off, __global float* dz, int dz_off, __global float* dh, int dh_off,
        __global float* dwy, int dwy_off, __global float* dby, int dby_off,
        int S, int D, int V, int remove_hits, float scale, volatile __global int* err,
        __local float* scratch) {
    int i = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    int K = S + 1;
    h += h_off + i * D;
    w += w_off;
    bias += bias_off;
    sampled += sampled_off;
    __global float* z = dz + dz_off + i * K;
    // No early return: every work-item must reach every barrier. A bad id is flagged and its logit
    // left out (-FLT_MAX); a bad label makes the example's loss NaN.
    int label = labels[labels_off + i];
    int valid = label >= 0 && label < V;
    for (int j = lid; j < K; j += L) {
        int c = candidate(j, label, sampled);
        float zj;
        if (c < 0 || c >= V) {
            loom_flag(err, LOOM_ERR_SAMPLED_SOFTMAX, c, V);
            zj = -FLT_MAX;
        } else {
            __global const float* wc = w + c * D;
            float acc = 0.0f;
            for (int k = 0; k < D; ++k) acc += h[k] * wc[k];
            zj = acc + bias[c] - (j == 0 ? lqy[lqy_off + i] : lqs[lqs_off + j - 1]);
            if (j > 0 && remove_hits && c == label) zj += -FLT_MAX;
        }
        z[j] = zj;
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    float z0 = z[0];
    float m = -INFINITY;
    for (int j = lid; j < K; j += L) m = fmax(m, z[j]);
    m = group_max(scratch, m);
    float s = 0.0f;
    for (int j = lid; j < K; j += L) s += exp(z[j] - m);
    s = group_sum(scratch, s);   // its barriers also order every read of z[0] before the writes below
    if (lid == 0) losses[losses_off + i] = valid ? m + log(s) - z0 : NAN;
    for (int j = lid; j < K; j += L) z[j] = scale * (exp(z[j] - m) / s - (j == 0 ? 1.0f : 0.0f));
    barrier(CLK_GLOBAL_MEM_FENCE);
    float d0 = z[0];
    for (int k = lid; k < D; k += L) {
        float acc = 0.0f;
        for (int j = 0; j < K; ++j) {
            int c = candidate(j, label, sampled);
            if (c >= 0 && c < V) acc += z[j] * w[c * D + k];
        }
        dh[dh_off + i * D + k] = acc;
        dwy[dwy_off + i * D + k] = d0 * h[k];
    }
    if (lid == 0) dby[dby_off + i] = d0;
}

// dws (S, D) = dz[:, 1:]^T · h ; dbs (S) = column sums of dz[:, 1:]. One work-item per (j, k).
__kernel void sampled_softmax_shared_rows(
        __global const float* dz, int dz_off, __global const float* h, int h_off,
        __global float* dws, int dws_off, __global float* dbs, int dbs_off, int B, int S, int D) {
    int g = get_global_id(0);
    if (g >= S * D) return;
    int j = g / D, k = g - j * D;
    int K = S + 1;
    float acc = 0.0f, accb = 0.0f;
    for (int i = 0; i < B; ++i) {
        float d = dz[dz_off + i * K + 1 + j];
        acc += d * h[h_off + i * D + k];
        accb += d;
    }
    dws[dws_off + g] = acc;
    if (k == 0) dbs[dbs_off + j] = accb;
}
