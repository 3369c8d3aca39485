// elementwise.cl — one work-item per element; outputs may be the same view as an input.

__kernel void fill_f32(__global float* x, int x_off, float value, int n) {
    int i = get_global_id(0);
    if (i < n) x[x_off + i] = value;
}

__kernel void fill_i32(__global int* x, int x_off, int value, int n) {
    int i = get_global_id(0);
    if (i < n) x[x_off + i] = value;
}

__kernel void add_f32(__global const float* a, int a_off, __global const float* b, int b_off,
                      __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) out[out_off + i] = a[a_off + i] + b[b_off + i];
}

__kernel void multiply_f32(__global const float* a, int a_off, __global const float* b, int b_off,
                           __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) out[out_off + i] = a[a_off + i] * b[b_off + i];
}

// y += alpha * x
__kernel void axpy_f32(float alpha, __global const float* x, int x_off, __global float* y, int y_off, int n) {
    int i = get_global_id(0);
    if (i < n) y[y_off + i] += alpha * x[x_off + i];
}

__kernel void scale_f32(__global float* x, int x_off, float factor, int n) {
    int i = get_global_id(0);
    if (i < n) x[x_off + i] *= factor;
}

// x (rows, cols) += v (cols)
__kernel void add_row_vector(__global const float* v, int v_off, __global float* x, int x_off, int rows, int cols) {
    int i = get_global_id(0);
    if (i < rows * cols) x[x_off + i] += v[v_off + i % cols];
}

// out (cols) (+)= column sums of x (rows, cols); one work-item per column, coalesced over columns.
__kernel void sum_rows(__global const float* x, int x_off, __global float* out, int out_off,
                       int rows, int cols, int accumulate) {
    int c = get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; ++r) s += x[x_off + r * cols + c];
    out[out_off + c] = accumulate ? out[out_off + c] + s : s;
}

__kernel void sigmoid_f32(__global const float* x, int x_off, __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) out[out_off + i] = 1.0f / (1.0f + exp(-x[x_off + i]));
}

__kernel void tanh_f32(__global const float* x, int x_off, __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) out[out_off + i] = tanh(x[x_off + i]);
}

// dx = dy * y * (1 - y), y the sigmoid output
__kernel void sigmoid_backward(__global const float* y, int y_off, __global const float* dy, int dy_off,
                               __global float* dx, int dx_off, int n) {
    int i = get_global_id(0);
    if (i < n) { float s = y[y_off + i]; dx[dx_off + i] = dy[dy_off + i] * s * (1.0f - s); }
}

// dx = dy * (1 - y^2), y the tanh output
__kernel void tanh_backward(__global const float* y, int y_off, __global const float* dy, int dy_off,
                            __global float* dx, int dx_off, int n) {
    int i = get_global_id(0);
    if (i < n) { float t = y[y_off + i]; dx[dx_off + i] = dy[dy_off + i] * (1.0f - t * t); }
}

__kernel void relu_f32(__global const float* x, int x_off, __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) { float v = x[x_off + i]; out[out_off + i] = v < 0.0f ? 0.0f : v; }  // NaN passes
}

__kernel void relu_backward(__global const float* y, int y_off, __global const float* g, int g_off,
                            __global float* out, int out_off, int n) {
    int i = get_global_id(0);
    if (i < n) out[out_off + i] = y[y_off + i] > 0.0f ? g[g_off + i] : 0.0f;
}
