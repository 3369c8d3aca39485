// embedding.cl — rows of a table by id, and their gradients back. One work-item per element.

// out (n, d) = table (v, d) [indices (n)]
__kernel void gather_rows(__global const float* table, int table_off, __global const int* indices, int idx_off,
                          __global float* out, int out_off, int n, int d, int v, volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= n * d) return;
    int row = g / d, col = g - row * d;
    int id = indices[idx_off + row];
    if (id < 0 || id >= v) { loom_flag(err, LOOM_ERR_GATHER, id, v); return; }
    out[out_off + g] = table[table_off + id * d + col];
}

// table (v, d) [indices (n)] += scale * rows (n, d); duplicate ids add up through atomic_add_f32.
__kernel void scatter_add_rows(__global const float* rows, int rows_off, __global const int* indices, int idx_off,
                               __global float* table, int table_off, int n, int d, int v, float scale,
                               volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= n * d) return;
    int row = g / d, col = g - row * d;
    int id = indices[idx_off + row];
    if (id < 0 || id >= v) { loom_flag(err, LOOM_ERR_SCATTER, id, v); return; }
    atomic_add_f32(table + table_off + id * d + col, scale * rows[rows_off + g]);
}

// out (b, d) = sum (or mean) of table rows ids[bag, 0..c) that are >= 0. One work-item per element.
__kernel void embedding_bag(__global const float* table, int table_off, __global const int* ids, int ids_off,
                            __global float* out, int out_off, int b, int c, int d, int v, int mean,
                            volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= b * d) return;
    int bag = g / d, col = g - bag * d;
    float acc = 0.0f;
    int n = 0;
    for (int j = 0; j < c; ++j) {
        int id = ids[ids_off + bag * c + j];
        if (id < 0) continue;
        if (id >= v) { loom_flag(err, LOOM_ERR_EMBEDDING_BAG, id, v); continue; }
        acc += table[table_off + id * d + col];
        ++n;
    }
    out[out_off + g] = (mean && n > 0) ? acc / (float)n : acc;
}

// grad_rows (u, d) [slots[bag, j]] += scale * grad_out[bag] (/ bag size when mean). One work-item per element.
__kernel void embedding_bag_backward(__global const float* grad_out, int go_off, __global const int* slots,
                                     int slots_off, __global float* grad_rows, int gr_off, int b, int c, int d,
                                     int u, int mean, float scale, volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= b * d) return;
    int bag = g / d, col = g - bag * d;
    int n = 0;
    for (int j = 0; j < c; ++j) n += slots[slots_off + bag * c + j] >= 0;
    if (n == 0) return;
    float value = grad_out[go_off + g] * ((mean) ? scale / (float)n : scale);
    for (int j = 0; j < c; ++j) {
        int slot = slots[slots_off + bag * c + j];
        if (slot < 0) continue;
        if (slot >= u) { loom_flag(err, LOOM_ERR_EMBEDDING_BAG_BACKWARD, slot, u); continue; }
        atomic_add_f32(grad_rows + gr_off + slot * d + col, value);
    }
}

// out[row] = x[row] / |x[row]| (zero rows stay zero); one power-of-two work-group per row.
__kernel void normalize_rows(__global const float* x, int x_off, __global float* out, int out_off, int c,
                             __local float* scratch) {
    int row = get_group_id(0);
    __global const float* src = x + x_off + row * c;
    float acc = 0.0f;
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) acc += src[j] * src[j];
    float norm = sqrt(group_sum(scratch, acc));
    float scale = norm > 1e-12f ? 1.0f / norm : 0.0f;
    for (int j = get_local_id(0); j < c; j += get_local_size(0)) out[out_off + row * c + j] = src[j] * scale;
}
