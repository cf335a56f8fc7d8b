// Fused elementwise parts of one time step of each cell, forward and backward side by side.
//
// The matrix products live in the sequence driver (rnn_direction.cpp); these kernels do the gate
// nonlinearities and state updates for a batch of B rows in one pass. Dimension legend:
//   B batch rows, H hidden size, R = size of h (H, or P with an LSTM projection), G gates.
// Row masks: valid[b] == 0 marks a padded step of row b (t >= length). Forward then carries the
// state unchanged; backward zeroes that row's gate gradients and passes dh (and dc) through.
// `valid` may be null (all rows valid).
// k (LSTM and GRU): the SIMD row kernels of the layer's target (kernels/simd/rnn_kernels.h), so that the
// per-step path and the fused loops compute the same gate arithmetic; null: the scalar row loops here,
// the portable reference the SIMD kernels are tested against (tests/nn/test_cell_kernels.cpp).
//
// Pre-activations arrive in `a` ([B, G*H]) and are overwritten by the activations, which
// backward needs (sigmoid' = s(1-s), tanh' = 1-t², relu' = [h > 0] are all functions of outputs).
#pragma once

#include <cstdint>

namespace recurrent::simd {
struct RnnKernels;
}

namespace recurrent::cells {

// ---- vanilla RNN:  h = f(a),  a = W_ih x + b_ih + W_hh h_prev + b_hh,  f = tanh | relu ----
void rnn_forward(int64_t B, int64_t H, bool relu, float* a, const float* h_prev, float* h, const uint8_t* valid);
// dh: [B,H] dL/dh_t. Out: da [B,H]; dhp [B,H] = elementwise part of dL/dh_{t-1} (dh on padded rows, else 0).
void rnn_backward(int64_t B, int64_t H, bool relu, const float* a, const float* dh, float* da, float* dhp,
                  const uint8_t* valid);

// ---- LSTM (gates i, f, g, o), optional peephole w_ch [3, H] (Gers & Schmidhuber 2000) ----
//   i = σ(a_i + w_ci ⊙ c_prev)   f = σ(a_f + w_cf ⊙ c_prev)   g = tanh(a_g)
//   c = f ⊙ c_prev + i ⊙ g       o = σ(a_o + w_co ⊙ c)        m = o ⊙ tanh(c)
// m is h_t without projection (written to h with row stride ldh), or r_t with one (h = W_hr m).
void lstm_forward(const simd::RnnKernels* k, int64_t B, int64_t H, float* a, const float* peep, const float* c_prev, float* c, float* m,
                  int64_t ldm, const uint8_t* valid);
// dm: [B,H] dL/dm_t (dh_t, or W_hrᵀ dh_t with projection). dc: [B,H] in dL/dc_t from step t+1, out dL/dc_{t-1}.
// Out: da [B,4H] pre-activation gradients; dpeep [3,H] accumulated (if peep).
void lstm_backward(const simd::RnnKernels* k, int64_t B, int64_t H, const float* a, const float* peep, const float* c_prev, const float* c,
                   const float* dm, float* dc, float* da, float* dpeep, const uint8_t* valid);

// ---- GRU, PyTorch/cuDNN "linear-before-reset" (gates r, z, n) ----
//   r = σ(ax_r + gh_r + b_hr)   z = σ(ax_z + gh_z + b_hz)
//   nh = gh_n + b_hn            n = tanh(ax_n + r ⊙ nh)        h = (1-z) ⊙ n + z ⊙ h_prev
// a: [B,3H] x-part (W_ih x + b_ih) in, activations out; gh: [B,3H] W_hh h_prev (no bias); nh saved [B,H].
void gru_forward(const simd::RnnKernels* k, int64_t B, int64_t H, float* a, const float* gh, const float* b_hh, const float* h_prev, float* h,
                 float* nh, const uint8_t* valid);
// Out: dax [B,3H] (grads of the x-part pre-activations), dgh [B,3H] (grads of W_hh h_prev + b_hh), dhp = dh ⊙ z.
void gru_backward(const simd::RnnKernels* k, int64_t B, int64_t H, const float* a, const float* nh, const float* h_prev, const float* dh,
                  float* dax, float* dgh, float* dhp, const uint8_t* valid);

// ---- GRU, Cho et al. 2014 (reset before the matmul), split in two phases around the n-gate GEMM ----
//   r = σ(a_r)  z = σ(a_z)  (a holds x-part + all biases + W_hh[r,z] h_prev)   rh = r ⊙ h_prev
//   n = tanh(a_n)  (a_n = W_in x + b_in + b_hn + W_hn rh)      h = (1-z) ⊙ n + z ⊙ h_prev
void gru_cho_forward_gates(int64_t B, int64_t H, float* a, const float* h_prev, float* rh);
void gru_cho_forward_state(int64_t B, int64_t H, float* a, const float* h_prev, float* h, const uint8_t* valid);
// Phase 1: from dh, da_n and da_z (and dhp = dh ⊙ z); the caller then computes drh = da_n W_hn.
void gru_cho_backward_nz(int64_t B, int64_t H, const float* a, const float* h_prev, const float* dh, float* da,
                         float* dhp, const uint8_t* valid);
// Phase 2: da_r = drh ⊙ h_prev ⊙ r(1-r); dhp += drh ⊙ r.
void gru_cho_backward_r(int64_t B, int64_t H, const float* a, const float* h_prev, const float* drh, float* da,
                        float* dhp, const uint8_t* valid);

// ---- simplified GRU (update gate only; gates u, c̃) ----
//   u = σ(a_u)   c̃ = tanh(a_c)   h = u ⊙ c̃ + (1-u) ⊙ h_prev      (a holds all of W [h_prev, x] + b)
void gru_simple_forward(int64_t B, int64_t H, float* a, const float* h_prev, float* h, const uint8_t* valid);
void gru_simple_backward(int64_t B, int64_t H, const float* a, const float* h_prev, const float* dh, float* da,
                         float* dhp, const uint8_t* valid);

// Numerically safe scalar activations shared by the kernels and the reference.
inline float sigmoidf(float x) {
  // σ(x) = 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise: no overflow of e^|x|.
  if (x >= 0.0f) return 1.0f / (1.0f + __builtin_expf(-x));
  float e = __builtin_expf(x);
  return e / (1.0f + e);
}

}  // namespace recurrent::cells
