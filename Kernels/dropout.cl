// dropout.cl — out[i] = x[i] / keep where the 24-bit Philox draw of element i is under `threshold`.
// The forward and backward passes call this with the same (seed, stream): the same mask.
__kernel void dropout_apply(__global const float* x, int x_off, __global float* out, int out_off, int n,
                            uint threshold, float inv_keep, ulong seed, ulong stream) {
    int i = get_global_id(0);
    if (i >= n) return;
    uint draw = philox_word((ulong)i, seed, stream) >> 8;
    out[out_off + i] = draw < threshold ? x[x_off + i] * inv_keep : 0.0f;
}
