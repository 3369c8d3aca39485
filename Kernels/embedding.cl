// embedding.cl — rows of a table by id, and their gradients back. One work-item per element.

// out (n, d) = table (v, d) [indices (n)]
__kernel void gather_rows(__global const float* table, int table_off, __global const int* indices, int idx_off,
                          __global float* out, int out_off, int n, int d, int v, volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= n * d) return;
    int row = g / d, col = g - row * d;
    int id = indices[idx_off + row];
    if (id < 0 || id >= v) { loom_flag(err, LOOM_ERR_GATHER); return; }
    out[out_off + g] = table[table_off + id * d + col];
}

// table (v, d) [indices (n)] += rows (n, d); duplicate ids add up through atomic_add_f32.
__kernel void scatter_add_rows(__global const float* rows, int rows_off, __global const int* indices, int idx_off,
                               __global float* table, int table_off, int n, int d, int v,
                               volatile __global int* err) {
    int g = get_global_id(0);
    if (g >= n * d) return;
    int row = g / d, col = g - row * d;
    int id = indices[idx_off + row];
    if (id < 0 || id >= v) { loom_flag(err, LOOM_ERR_SCATTER); return; }
    atomic_add_f32(table + table_off + id * d + col, rows[rows_off + g]);
}
