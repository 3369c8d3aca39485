// lstm_gates.cl — the pointwise half of an LSTM step, fused: one work-item per (row, unit).
// gates (B, 4H) are laid out [i | f | o | g] per row.

// Unit k of one row: activations in place, then c = f*c_prev + i*g; h = o*tanh(c).
inline void lstm_cell_forward(__global float* row, int k, int H, float c_prev, __global float* c, __global float* h) {
    float i = 1.0f / (1.0f + exp(-row[k]));
    float f = 1.0f / (1.0f + exp(-row[H + k]));
    float o = 1.0f / (1.0f + exp(-row[2 * H + k]));
    float cand = tanh(row[3 * H + k]);
    row[k] = i; row[H + k] = f; row[2 * H + k] = o; row[3 * H + k] = cand;
    float ct = f * c_prev + i * cand;
    *c = ct;
    *h = o * tanh(ct);
}

// Backward of lstm_cell_forward for unit k: dc in (from later steps), out (w.r.t. c_prev).
inline void lstm_cell_backward(__global const float* row, __global float* drow, int k, int H, float c_prev, float c,
                               float dhg, __global float* dc) {
    float i = row[k], f = row[H + k], o = row[2 * H + k], cand = row[3 * H + k];
    float tc = tanh(c);
    float dct = *dc + dhg * o * (1.0f - tc * tc);
    drow[k] = dct * cand * i * (1.0f - i);
    drow[H + k] = dct * c_prev * f * (1.0f - f);
    drow[2 * H + k] = dhg * tc * o * (1.0f - o);
    drow[3 * H + k] = dct * i * (1.0f - cand * cand);
    *dc = dct * f;
}

// gates: preactivations in, activations out; c = f*c_prev + i*g; h = o*tanh(c)
__kernel void lstm_gates_forward(__global float* gates, int gates_off, __global const float* c_prev, int cp_off,
                                 __global float* c, int c_off, __global float* h, int h_off, int B, int H) {
    int g = get_global_id(0);
    if (g >= B * H) return;
    int r = g / H, k = g - r * H;
    lstm_cell_forward(gates + gates_off + r * 4 * H, k, H, c_prev[cp_off + g], c + c_off + g, h + h_off + g);
}

// dc: in, gradient w.r.t. c from later steps; out, w.r.t. c_prev. dgates: w.r.t. preactivations.
__kernel void lstm_gates_backward(__global const float* gates, int gates_off, __global const float* c_prev,
                                  int cp_off, __global const float* c, int c_off, __global const float* dh,
                                  int dh_off, __global float* dc, int dc_off, __global float* dgates,
                                  int dg_off, int B, int H) {
    int g = get_global_id(0);
    if (g >= B * H) return;
    int r = g / H, k = g - r * H;
    lstm_cell_backward(gates + gates_off + r * 4 * H, dgates + dg_off + r * 4 * H, k, H, c_prev[cp_off + g],
                       c[c_off + g], dh[dh_off + g], dc + dc_off + g);
}

// Variable lengths: rows whose sequence has ended (step >= lengths[r]) keep their state.
__kernel void lstm_gates_forward_masked(__global float* gates, int gates_off, __global const float* c_prev,
                                        int cp_off, __global const float* h_prev, int hp_off, __global float* c,
                                        int c_off, __global float* h, int h_off, __global const int* lengths,
                                        int len_off, int step, int B, int H) {
    int g = get_global_id(0);
    if (g >= B * H) return;
    int r = g / H, k = g - r * H;
    if (step >= lengths[len_off + r]) {
        c[c_off + g] = c_prev[cp_off + g];
        h[h_off + g] = h_prev[hp_off + g];
        return;
    }
    lstm_cell_forward(gates + gates_off + r * 4 * H, k, H, c_prev[cp_off + g], c + c_off + g, h + h_off + g);
}

// Ended rows: dgates = 0, dc passes unchanged, dh_prev += dh.
__kernel void lstm_gates_backward_masked(__global const float* gates, int gates_off, __global const float* c_prev,
                                         int cp_off, __global const float* c, int c_off, __global const float* dh,
                                         int dh_off, __global float* dc, int dc_off, __global float* dgates,
                                         int dg_off, __global float* dh_prev, int dhp_off,
                                         __global const int* lengths, int len_off, int step, int B, int H) {
    int g = get_global_id(0);
    if (g >= B * H) return;
    int r = g / H, k = g - r * H;
    __global float* drow = dgates + dg_off + r * 4 * H;
    if (step >= lengths[len_off + r]) {
        drow[k] = 0.0f; drow[H + k] = 0.0f; drow[2 * H + k] = 0.0f; drow[3 * H + k] = 0.0f;
        dh_prev[dhp_off + g] += dh[dh_off + g];
        return;
    }
    lstm_cell_backward(gates + gates_off + r * 4 * H, drow, k, H, c_prev[cp_off + g], c[c_off + g], dh[dh_off + g],
                       dc + dc_off + g);
}
