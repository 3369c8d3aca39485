// conv.cl — convolution and pooling on NHWC images (see ConvGeometry in LoomCore). One work-item
// per element written; the backward kernels gather (one work-item per input element sums what
// reaches it), so no atomics and sums keep the CPU reference's order.

// columns (N·OH·OW, KH·KW·C): row (n, oy, ox), column (ky, kx, c).
__kernel void im2col(__global const float* x, int x_off, __global float* cols, int cols_off,
                     int n_images, int h, int w, int c, int kh, int kw, int stride, int pad, int oh, int ow) {
    int i = get_global_id(0);
    int patch = kh * kw * c;
    if (i >= n_images * oh * ow * patch) return;
    int row = i / patch, col = i % patch;
    int n = row / (oh * ow), oy = row / ow % oh, ox = row % ow;
    int ky = col / (kw * c), kx = col / c % kw, ch = col % c;
    int y = oy * stride - pad + ky, xx = ox * stride - pad + kx;
    cols[cols_off + i] = (y >= 0 && y < h && xx >= 0 && xx < w) ? x[x_off + ((n * h + y) * w + xx) * c + ch] : 0.0f;
}

__kernel void col2im(__global const float* cols, int cols_off, __global float* dx, int dx_off,
                     int n_images, int h, int w, int c, int kh, int kw, int stride, int pad, int oh, int ow) {
    int i = get_global_id(0);
    if (i >= n_images * h * w * c) return;
    int pixel = i / c, ch = i % c;
    int n = pixel / (h * w), y = pixel / w % h, x = pixel % w;
    int patch = kh * kw * c;
    float s = 0.0f;
    for (int ky = 0; ky < kh; ++ky) {
        int sy = y + pad - ky;
        if (sy < 0 || sy % stride != 0 || sy / stride >= oh) continue;
        for (int kx = 0; kx < kw; ++kx) {
            int sx = x + pad - kx;
            if (sx < 0 || sx % stride != 0 || sx / stride >= ow) continue;
            s += cols[cols_off + ((n * oh + sy / stride) * ow + sx / stride) * patch + (ky * kw + kx) * c + ch];
        }
    }
    dx[dx_off + i] = s;
}

__kernel void max_pool(__global const float* x, int x_off, __global float* out, int out_off,
                       __global int* arg, int arg_off,
                       int n_images, int h, int w, int c, int kh, int kw, int stride, int pad, int oh, int ow) {
    int i = get_global_id(0);
    if (i >= n_images * oh * ow * c) return;
    int row = i / c, ch = i % c;
    int n = row / (oh * ow), oy = row / ow % oh, ox = row % ow;
    float best = -INFINITY;
    int at = -1;
    for (int ky = 0; ky < kh; ++ky) {
        int y = oy * stride - pad + ky;
        if (y < 0 || y >= h) continue;
        for (int kx = 0; kx < kw; ++kx) {
            int xx = ox * stride - pad + kx;
            if (xx < 0 || xx >= w) continue;
            int j = ((n * h + y) * w + xx) * c + ch;
            float v = x[x_off + j];
            if (at < 0 || v > best) { best = v; at = j; }
        }
    }
    out[out_off + i] = best;
    arg[arg_off + i] = at;
}

__kernel void max_pool_backward(__global const float* dy, int dy_off, __global const int* arg, int arg_off,
                                __global float* dx, int dx_off,
                                int n_images, int h, int w, int c, int kh, int kw, int stride, int pad, int oh, int ow) {
    int i = get_global_id(0);
    if (i >= n_images * h * w * c) return;
    int pixel = i / c, ch = i % c;
    int n = pixel / (h * w), y = pixel / w % h, x = pixel % w;
    float s = 0.0f;
    for (int ky = 0; ky < kh; ++ky) {
        int sy = y + pad - ky;
        if (sy < 0 || sy % stride != 0 || sy / stride >= oh) continue;
        for (int kx = 0; kx < kw; ++kx) {
            int sx = x + pad - kx;
            if (sx < 0 || sx % stride != 0 || sx / stride >= ow) continue;
            int o = ((n * oh + sy / stride) * ow + sx / stride) * c + ch;
            if (arg[arg_off + o] == i) s += dy[dy_off + o];
        }
    }
    dx[dx_off + i] = s;
}
