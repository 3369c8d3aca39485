// negative_sampling.cl — word2vec's negative-sampling loss with its gradients, fused.
// Pair i: scores s_0 = h_i·w[target], s_{1+k} = h_i·w[negatives[i, k]]; a negative equal to the
// target is skipped. loss = softplus(-s_0) + sum_k softplus(s_k).

inline float softplus(float x) { return fmax(x, 0.0f) + log1p(exp(-fabs(x))); }

// One power-of-two work-group per pair. scores: __local, K + 1 floats; scratch: __local, group size.
__kernel void negative_sampling_pair(
        __global const float* h, int h_off, __global const int* targets, int t_off,
        __global const int* negatives, int n_off, __global const float* w, int w_off,
        __global float* losses, int losses_off, __global float* dh, int dh_off,
        __global float* dwt, int dwt_off, __global float* dwn, int dwn_off,
        int K, int D, int V, float scale, volatile __global int* err,
        __local float* scores, __local float* scratch) {
    int i = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    h += h_off + i * D;
    w += w_off;
    int target = targets[t_off + i];
    int valid_target = target >= 0 && target < V;
    // Scores: work-item j computes candidate j (0 = target), looping over the dimension.
    float loss_part = 0.0f;
    for (int j = lid; j <= K; j += L) {
        int c = j == 0 ? target : negatives[n_off + i * K + j - 1];
        float g = 0.0f;
        if (c < 0 || c >= V) {
            loom_flag(err, LOOM_ERR_NEGATIVE_SAMPLING, c, V);
        } else if (j == 0 || (c != target)) {
            __global const float* wc = w + c * D;
            float s = 0.0f;
            for (int k = 0; k < D; ++k) s += h[k] * wc[k];
            float sig = 1.0f / (1.0f + exp(-s));
            if (j == 0) { loss_part += softplus(-s); g = sig - 1.0f; }
            else { loss_part += softplus(s); g = sig; }
        }
        scores[j] = scale * g;   // the gradient w.r.t. the score, scaled
    }
    float loss = group_sum(scratch, loss_part);   // its barriers publish scores[] to the group
    if (lid == 0) losses[losses_off + i] = valid_target ? loss : NAN;
    for (int k = lid; k < D; k += L) {
        float acc = 0.0f;
        float hk = h[k];
        for (int j = 0; j <= K; ++j) {
            int c = j == 0 ? target : negatives[n_off + i * K + j - 1];
            float g = scores[j];
            if (c >= 0 && c < V) acc += g * w[c * D + k];
            if (j == 0) dwt[dwt_off + i * D + k] = g * hk;
            else dwn[dwn_off + (i * K + j - 1) * D + k] = g * hk;
        }
        dh[dh_off + i * D + k] = acc;
    }
}
