// tsne.cl — t-SNE's exact gradient: the O(N²) pass over all pairs (one work-group per point),
// the gradient once Z is known, and the gains-and-momentum update.

// Tree sum of eight lanes over a power-of-two work-group, in local memory.
inline float8 group_sum8(__local float8* scratch, float8 v) {
    int lid = get_local_id(0), n = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float8 total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// Row i = group id, pairs (i, j) for j != i, with w = 1 / (1 + |y_i - y_j|^2):
// forces[i] = (sum p w dx, sum p w dy, sum w^2 dx, sum w^2 dy)
// stats[i]  = (sum w, sum_{p > 0} p (log p + log(1 + d^2)) when divergence, sum p)
__kernel void tsne_pair_forces(__global const float* y, int y_off, __global const float* p, int p_off,
                               __global float* forces, int forces_off, __global float* stats, int stats_off,
                               int n, int divergence, __local float8* scratch) {
    // No early return: every work-item reaches the barriers of group_sum8.
    int i = get_group_id(0);
    float xi = y[y_off + 2 * i], yi = y[y_off + 2 * i + 1];
    __global const float* row = p + p_off + i * n;
    float8 acc = (float8)(0.0f);
    for (int j = get_local_id(0); j < n; j += get_local_size(0)) {
        if (j == i) continue;
        float dx = xi - y[y_off + 2 * j], dy = yi - y[y_off + 2 * j + 1];
        float d2 = dx * dx + dy * dy;
        float w = 1.0f / (1.0f + d2);
        float pij = row[j];
        float pw = pij * w, w2 = w * w;
        acc.s0 += pw * dx;
        acc.s1 += pw * dy;
        acc.s2 += w2 * dx;
        acc.s3 += w2 * dy;
        acc.s4 += w;
        if (divergence && pij > 0.0f) acc.s5 += pij * (log(pij) + log1p(d2));
        acc.s6 += pij;
    }
    acc = group_sum8(scratch, acc);
    if (get_local_id(0) == 0) {
        __global float* f = forces + forces_off + 4 * i;
        f[0] = acc.s0; f[1] = acc.s1; f[2] = acc.s2; f[3] = acc.s3;
        __global float* s = stats + stats_off + 3 * i;
        s[0] = acc.s4; s[1] = acc.s5; s[2] = acc.s6;
    }
}

// One work-group: totals[0] = Z = sum stats[:, 0]; divergence[0] = sum stats[:, 1] + log Z * sum stats[:, 2]
__kernel void tsne_totals(__global const float* stats, int stats_off, int n, __global float* totals, int totals_off,
                          __global float* divergence, int divergence_off, __local float8* scratch) {
    float8 acc = (float8)(0.0f);
    for (int r = get_local_id(0); r < n; r += get_local_size(0)) {
        __global const float* s = stats + stats_off + 3 * r;
        acc.s0 += s[0];
        acc.s1 += s[1];
        acc.s2 += s[2];
    }
    acc = group_sum8(scratch, acc);
    if (get_local_id(0) == 0) {
        float z = acc.s0;
        totals[totals_off] = z;
        divergence[divergence_off] = z > 0.0f ? acc.s1 + log(z) * acc.s2 : acc.s1;
    }
}

// gradient[i] = 4 (exaggeration * attraction_i - repulsion_i / Z), Z = totals[0]; one work-item per point
__kernel void tsne_gradient(__global const float* forces, int forces_off, __global const float* totals,
                            int totals_off, __global float* gradient, int gradient_off, int n, float exaggeration) {
    int i = get_global_id(0);
    if (i >= n) return;
    float z = totals[totals_off];
    float inv = z > 0.0f ? 1.0f / z : 0.0f;
    __global const float* f = forces + forces_off + 4 * i;
    gradient[gradient_off + 2 * i] = 4.0f * (exaggeration * f[0] - f[2] * inv);
    gradient[gradient_off + 2 * i + 1] = 4.0f * (exaggeration * f[1] - f[3] * inv);
}

// sklearn's step: gain up by 0.2 where the velocity opposes the gradient, else times 0.8, at least
// min_gain; u = momentum u - lr gain g; y += u
__kernel void tsne_update(__global float* y, int y_off, __global const float* g, int g_off, __global float* u,
                          int u_off, __global float* gains, int gains_off, int n, float lr, float momentum,
                          float min_gain) {
    int i = get_global_id(0);
    if (i >= n) return;
    float gi = g[g_off + i], ui = u[u_off + i], gain = gains[gains_off + i];
    gain = fmax(min_gain, ui * gi < 0.0f ? gain + 0.2f : gain * 0.8f);
    ui = momentum * ui - lr * gain * gi;
    gains[gains_off + i] = gain;
    u[u_off + i] = ui;
    y[y_off + i] += ui;
}
