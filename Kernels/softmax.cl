// softmax.cl — row-wise softmax and cross-entropy; one power-of-two work-group per row.

inline float row_log_partition(__global const float* z, int c, __local float* scratch) {
    float m = -INFINITY;
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) m = fmax(m, z[j]);
    m = group_max(scratch, m);
    float s = 0.0f;
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) s += exp(z[j] - m);
    s = group_sum(scratch, s);
    return m + log(s);
}

// out (n, c) = softmax(logits (n, c)) by rows
__kernel void softmax_rows(__global const float* logits, int logits_off, __global float* out, int out_off,
                           int n, int c, __local float* scratch) {
    int row = get_group_id(0);
    __global const float* z = logits + logits_off + row * c;
    __global float* p = out + out_off + row * c;
    float lz = row_log_partition(z, c, scratch);
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) p[j] = exp(z[j] - lz);
}

// probs = softmax(logits); losses[row] = logsumexp(z) - z[label]
__kernel void softmax_xent(__global const float* logits, int logits_off, __global const int* labels, int labels_off,
                           __global float* probs, int probs_off, __global float* losses, int losses_off,
                           int n, int c, volatile __global int* err, __local float* scratch) {
    // No early return: every work-item must reach the barriers inside row_log_partition.
    int row = get_group_id(0);
    int y = labels[labels_off + row];
    int valid = y >= 0 && y < c;
    int padding = y == -1;
    __global const float* z = logits + logits_off + row * c;
    __global float* p = probs + probs_off + row * c;
    float lz = row_log_partition(z, c, scratch);
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) p[j] = exp(z[j] - lz);
    if (get_local_id(0) == 0) {
        if (!valid && !padding) loom_flag(err, LOOM_ERR_SOFTMAX_LABEL, y, c);
        losses[losses_off + row] = valid ? lz - z[y] : (padding ? 0.0f : NAN);
    }
}

// grad (n, c) = scale * (probs - onehot(labels)); one work-item per element
__kernel void softmax_xent_backward(__global const float* probs, int probs_off, __global const int* labels,
                                    int labels_off, __global float* grad, int grad_off, int n, int c, float scale,
                                    volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= n * c) return;
    int row = g / c, j = g - row * c;
    int y = labels[labels_off + row];
    if (y == -1) { grad[grad_off + g] = 0.0f; return; }   // padding
    if (y < 0 || y >= c) { loom_flag(err, LOOM_ERR_SOFTMAX_LABEL_BACKWARD, y, c); return; }
    grad[grad_off + g] = scale * (probs[probs_off + g] - (j == y ? 1.0f : 0.0f));
}

// Softmax over the first lengths[row / rows_per_length] columns of each row; the rest are 0.
__kernel void softmax_masked_rows(__global const float* logits, int logits_off, __global const int* lengths,
                                  int len_off, __global float* out, int out_off, int n, int c, int rows_per_length,
                                  volatile __global int* err, __local float* scratch) {
    int row = get_group_id(0);
    int m = lengths[len_off + row / rows_per_length];
    if ((m < 0 || m > c) && get_local_id(0) == 0) loom_flag(err, LOOM_ERR_LENGTH, m, c + 1);
    m = clamp(m, 0, c);
    __global const float* z = logits + logits_off + row * c;
    __global float* p = out + out_off + row * c;
    float lz = row_log_partition(z, m, scratch);
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) p[j] = j < m ? exp(z[j] - lz) : 0.0f;
}

// grad_in = y * (g - sum_j y_j g_j) by rows
__kernel void softmax_backward_rows(__global const float* y, int y_off, __global const float* gy, int gy_off,
                                    __global float* gx, int gx_off, int n, int c, __local float* scratch) {
    int row = get_group_id(0);
    __global const float* yr = y + y_off + row * c;
    __global const float* gr = gy + gy_off + row * c;
    __global float* xr = gx + gx_off + row * c;
    float s = 0.0f;
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) s += yr[j] * gr[j];
    s = group_sum(scratch, s);
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) xr[j] = yr[j] * (gr[j] - s);
}
