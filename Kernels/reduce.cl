// reduce.cl — two-stage reductions (partials per work-group, then one group) and the clip that
// reads the global norm on the device.

// partials[group] = sum over this group's strided share of x (or of x^2 when square != 0)
__kernel void reduce_partial(__global const float* x, int x_off, int n, int square,
                             __global float* partials, int partials_off, __local float* scratch) {
    float acc = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        float v = x[x_off + i];
        acc += square ? v * v : v;
    }
    float total = group_sum(scratch, acc);
    if (get_local_id(0) == 0) partials[partials_off + get_group_id(0)] = total;
}

// result[0] (+)= sum of partials[0..count); run as a single work-group
__kernel void reduce_final(__global const float* partials, int partials_off, int count, __global float* result,
                           int result_off, int accumulate, __local float* scratch) {
    float acc = 0.0f;
    for (int i = get_local_id(0); i < count; i += get_local_size(0)) acc += partials[partials_off + i];
    float total = group_sum(scratch, acc);
    if (get_local_id(0) == 0) result[result_off] = accumulate ? result[result_off] + total : total;
}

// x *= min(1, max_norm / sqrt(ss[0]))
__kernel void clip_by_global_norm(__global float* x, int x_off, int n, __global const float* ss, int ss_off,
                                  float max_norm) {
    int i = get_global_id(0);
    if (i >= n) return;
    float norm = sqrt(ss[ss_off]);
    if (norm > max_norm) x[x_off + i] *= max_norm / norm;
}
