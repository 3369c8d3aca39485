// optimizers.cl — one work-item per updated element. Dense when d == 0 (element i of the
// parameter); sparse otherwise: gradient row u updates parameter row rows[u] (distinct ids).

inline int param_index(int i, __global const int* rows, int rows_off, int d, int v,
                       volatile __global int* err) {
    if (d == 0) return i;
    int u = i / d;
    int id = rows[rows_off + u];
    if (id < 0 || id >= v) { loom_flag(err, LOOM_ERR_UPDATE_ROW, id, v); return -1; }
    return id * d + (i - u * d);
}

__kernel void sgd_update(__global float* p, int p_off, __global const float* g, int g_off,
                         __global const int* rows, int rows_off, int n, int d, int v, volatile __global int* err,
                         float lr) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = param_index(i, rows, rows_off, d, v, err);
    if (k < 0) return;
    p[p_off + k] -= lr * g[g_off + i];
}

__kernel void momentum_update(__global float* p, int p_off, __global const float* g, int g_off,
                              __global const int* rows, int rows_off, int n, int d, int v,
                              volatile __global int* err, float lr, float mu, __global float* vel, int vel_off) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = param_index(i, rows, rows_off, d, v, err);
    if (k < 0) return;
    float nv = mu * vel[vel_off + k] + g[g_off + i];
    vel[vel_off + k] = nv;
    p[p_off + k] -= lr * nv;
}

__kernel void adagrad_update(__global float* p, int p_off, __global const float* g, int g_off,
                             __global const int* rows, int rows_off, int n, int d, int v,
                             volatile __global int* err, float lr, float eps, __global float* acc, int acc_off) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = param_index(i, rows, rows_off, d, v, err);
    if (k < 0) return;
    float gi = g[g_off + i];
    float a = acc[acc_off + k] + gi * gi;
    acc[acc_off + k] = a;
    p[p_off + k] -= lr * gi / (sqrt(a) + eps);
}

// step = lr * sqrt(1 - b2^t) / (1 - b1^t), computed on the host
__kernel void adam_update(__global float* p, int p_off, __global const float* g, int g_off,
                          __global const int* rows, int rows_off, int n, int d, int v,
                          volatile __global int* err, float step, float b1, float b2, float eps,
                          __global float* m, int m_off, __global float* s, int s_off) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = param_index(i, rows, rows_off, d, v, err);
    if (k < 0) return;
    float gi = g[g_off + i];
    float mi = b1 * m[m_off + k] + (1.0f - b1) * gi;
    float si = b2 * s[s_off + k] + (1.0f - b2) * gi * gi;
    m[m_off + k] = mi;
    s[s_off + k] = si;
    p[p_off + k] -= step * mi / (sqrt(si) + eps);
}
