// The recurrent engine's kernels (and the transformer's softmax/GELU) for one SIMD target, as a table of entry points (src/kernels/simd/
// rnn_kernels.cpp compiles them for every target; recurrent/kernels/target.h says which targets exist).
// The fused time loops (src/nn/rnn_fused*.cpp) take the table of their target once per call.
//
// Shapes (one batch row unless "rows"; n hidden units of a slice [j0, j0+n) of H: every pointer arrives
// offset by j0, gate blocks H apart; n ≥ 1 any size). Equations: the per-cell headers in cells/.
#pragma once

#include <cstdint>

namespace recurrent::simd {

// Layer-normalised LSTM, one row of one step (cells/lstm_ln-inl.h; G = 4 gate blocks i f g o of H, norms over 4H).
// The tape keeps the two norms only (the gates' activations are recomputed in backward from them).
struct LnLstmForward {
  int64_t H;
  float* x;              // [4H] in: the row's x product (X W_ihᵀ, no bias); out: its LN
  float* nh;             // [4H] in: h_{t-1} W_hhᵀ; out: its LN
  const float *gx, *gh;  // [4H] the two norms' gains
  const float* bias;     // [4H] b_ih + b_hh, or null
  const float* cp;       // [H] c_{t-1}
  float *c, *chat, *h;   // [H] out: c_t, LN(c_t), h_t
  const float *gc, *bc;  // [H] the c-norm's gain and bias
  float* st;             // [4] out: 1/σ_x, 1/σ_h, μ_c, 1/σ_c
};
struct LnLstmBackward {
  int64_t H;
  float* nx;             // [4H] in: LN(x product) (the tape); out: dL/d(x product)
  float* nh;             // [4H] in: LN(h product); out: dL/d(h product)
  const float *gx, *gh, *bias;       // as forward's
  const float *chat, *cp, *gc, *bc;  // [H] LN(c_t), c_{t-1}, the c-norm's gain and bias
  const float* st;       // [4] as forward's
  const float* dm;       // [H] dL/dh_t
  float* dc;             // [H] in: dL/dc_t (from step t+1); out: dL/dc_{t-1}
  float* scratch;        // [8H] the caller's, any contents
  float *db, *dgx, *dgg;  // [4H] += Σ da (the biases), Σ da ⊙ nx (γ_x), Σ da ⊙ nh (γ_h)
  float *dgc, *dbc;      // [H] += the c-norm's gain and bias gradients
};

// Batch-normalised LSTM (cells/lstm_bn-inl.h): column statistics over the valid rows of one step. B rows ld apart,
// N columns; valid [B] or null (all rows).
struct BnColumnsArgs {
  int64_t B, N, ld;
  const float* m;            // [B, ld] in
  float* out;                // [B, ld] out: (m − μ)/σ on every row (may be m)
  const uint8_t* valid;
  const float *rmean, *rvar; // [N] the population's statistics (evaluation), or null: the rows' own (training)
  float *mean, *var;         // [N] out (training, or null): the rows' mean and biased variance
  float* mu;                 // [2N] scratch (each column's shift and the mean's offset from it)
  float* isd;                // [N] out: 1/√(σ² + ε)
};
struct BnColumnsBackArgs {
  int64_t B, N;              // rows N apart
  const float* d;            // [B, N] dL/dn
  const float* nrm;          // [B, N] n
  float* out;                // [B, N] dL/dv (may be d); 0 on padded rows
  const uint8_t* valid;
  const float* isd;          // [N]
  bool batch;                // batch statistics (the mean terms) or the population's
};
struct BnLstmGatesBackward {
  int64_t H;
  const float* a;            // [4H] gate activations i f g o
  const float* cp;           // [H] c_{t-1}
  const float* dcn;          // [H] dL/dc_t through the c-norm (and h_t)
  float* dc;                 // [H] in: dL/dc_t from step t+1; out: dL/dc_{t-1}
  float* da;                 // [4H] in: da_o; out: every gate's pre-activation gradient
  const float *nx, *nh, *gx, *gh;  // [4H] the two norms and their gains
  float *dnx, *dnh;          // [4H] out: da ⊙ γ_x, da ⊙ γ_h
  float *db, *dgx, *dgh;     // [4H] += da, da ⊙ n_x, da ⊙ n_h
};

// Zoneout and recurrent dropout's copy on M rows of one step (cells/regularise-inl.h): units [0, n) of rows
// ld apart (pointers offset to the first row and unit). zoneout: h (c) ← z ? h_prev (c_prev) : h (c), z rows
// ldz apart (bytes, 1: keep), or without z the expectation q·prev + (1 − q)·new; then hd = h ⊙ rm if hd.
struct RegRows {
  int64_t M, n, ld;
  bool zoneout;
  const uint8_t* z;
  int64_t ldz;
  float q;
  const float* hp;
  float* h;
  const float* cp;  // c_{t-1} and c_t, or null (no cell state)
  float* c;
  const float* rm;  // recurrent dropout's mask and the copy it writes, or null
  float* hd;
};

struct RnnKernels {
  int64_t target;  // Highway target bit
  int64_t panel;   // columns of a packed panel: 2 vectors (32 AVX-512, 16 AVX2, 8 SSE4 / NEON)
  int64_t mr;      // rows of the panel product's register block (8 with 32 vector registers, 6 with 16)

  // ---- panel products (panel-inl.h) ----
  // dst [K, panel] = src[nrows ≤ panel, K]ᵀ (ld), zero past nrows; dst aligned to 64 bytes.
  void (*pack_rows_transposed)(const float* src, int64_t ld, int64_t nrows, int64_t K, float* dst);
  // C[M, 0:ncols] (+)= A[M, K] · P[K, panel]
  void (*panel_gemm)(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                     int64_t ldc, bool accumulate);
  // C (+)= A1[M, K1] · P[0:K1] + A2[M, K2] · P[K1:K1+K2], one accumulation; next: a panel to prefetch or null
  void (*panel_gemm2)(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2,
                      int64_t lda2, const float* P, int64_t ncols, float* C, int64_t ldc, bool accumulate,
                      const float* next);
  // Two consecutive panels P and P + (K1+K2)·panel against the same A: C1 from the first, C2 from the second;
  // bitwise two panel_gemm2 calls (one wider register block where the target has 32 vector registers).
  // next / next2: the two panels after them to prefetch, or null.
  void (*panel_gemm_pair)(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2,
                          int64_t lda2, const float* P, int64_t ncols, float* C1, float* C2, int64_t ldc,
                          bool accumulate, const float* next, const float* next2);

  // ---- cells (cells/*-inl.h) ----
  // LSTM: M rows, a rows lda apart (a [4H] i f g o), bias [4H] / peep [3H] or null, cp / c / m rows H apart
  void (*lstm_forward_rows)(int64_t M, int64_t n, int64_t H, float* a, int64_t lda, const float* bias,
                            const float* peep, const float* cp, float* c, float* m);
  void (*lstm_backward_row)(int64_t n, int64_t H, const float* a, const float* peep, const float* cp, const float* cb,
                            const float* dm, float* dc, float* da, float* dpeep);
  // GRU linear-before-reset: M rows, a and gh rows lda apart, hp / h / nh rows H apart
  void (*gru_forward_rows)(int64_t M, int64_t n, int64_t H, float* a, const float* gh, int64_t lda, const float* bias,
                           const float* b_hh, bool rz_in_a, const float* hp, float* h, float* nh);
  void (*gru_backward_row)(int64_t n, int64_t H, const float* a, const float* nh, const float* hp, const float* dh,
                           float* dx, float* dg, float* dp);
  // GRU (Cho): phase 1 gates + rh, phase 2 n and h; backward n, z then r
  void (*gru_cho_gates_row)(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* rh);
  void (*gru_cho_state_row)(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
  void (*gru_cho_backward_nz_row)(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                                  float* dp);
  void (*gru_cho_backward_r_row)(int64_t n, const float* a, const float* hp, const float* drh, float* da, float* dp);
  // Simplified GRU (u, c̃)
  void (*gru_simple_forward_row)(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
  void (*gru_simple_backward_row)(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                                  float* dp);
  // Scan cells (no W_hh; cells/mingru-inl.h, minlstm-inl.h, rglru-inl.h): minGRU (z, h̃), minLSTM (f, i, h̃),
  // RG-LRU (r, i, x) with la [n] = log σ(Λ) and dla [n] added to
  void (*mingru_forward_row)(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
  void (*mingru_backward_row)(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                              float* dp);
  void (*minlstm_forward_row)(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
  void (*minlstm_backward_row)(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                               float* dp);
  void (*rglru_forward_row)(int64_t n, int64_t H, float* a, const float* bias, const float* la, const float* hp,
                            float* h);
  void (*rglru_backward_row)(int64_t n, int64_t H, const float* a, const float* la, const float* hp,
                             const float* dh, float* da, float* dp, float* dla);
  // Layer-normalised LSTM (cells/lstm_ln-inl.h)
  void (*lstm_ln_forward_row)(const LnLstmForward& r);
  void (*lstm_ln_backward_row)(const LnLstmBackward& r);
  // Batch-normalised LSTM (cells/lstm_bn-inl.h): the columns' statistics and norms, their backward; h_t on B rows
  // (a [B, 4H] gates, nc / hp / cp / h / c [B, H]); one row's backward through h_t (da's o block, dnc [H], and
  // dgc / dbc [H] added to) and through the gates and gains.
  void (*bn_columns)(const BnColumnsArgs& r);
  void (*bn_columns_backward)(const BnColumnsBackArgs& r);
  void (*lstm_bn_h_rows)(int64_t B, int64_t H, const float* a, const float* nc, const float* gc, const float* bc,
                         const uint8_t* valid, const float* hp, const float* cp, float* h, float* c);
  void (*lstm_bn_out_backward_row)(int64_t H, const float* a, const float* nc, const float* gc, const float* bc,
                                   const float* dh, float* da, float* dnc, float* dgc, float* dbc);
  void (*lstm_bn_gates_backward_row)(const BnLstmGatesBackward& r);
  // Zoneout / recurrent dropout (cells/regularise-inl.h). Backward of zoneout, one row of n units: split moves
  // dh (dc) where z ≠ 0 into zh (zc), leaving the cell's share; merge adds zh (zc) to dhp (dc). dc, zc: or null.
  void (*zoneout_rows)(const RegRows& r);
  void (*zoneout_split_row)(int64_t n, const uint8_t* z, float* dh, float* dc, float* zh, float* zc);
  void (*zoneout_merge_row)(int64_t n, const float* zh, float* dhp, const float* zc, float* dc);
  // Vanilla RNN (tanh | relu)
  void (*rnn_forward_row)(int64_t n, bool relu, float* a, const float* bias, float* h);
  void (*rnn_backward_row)(int64_t n, bool relu, const float* a, const float* dh, float* da);

  // ---- activations (math-inl.h): y[i] = f(x[i]), y == x allowed ----
  void (*sigmoid_array)(const float* x, float* y, int64_t n);
  void (*tanh_array)(const float* x, float* y, int64_t n);
  // y[i] = f(x[i]) and dy[i] = f'(x[i]) from x (not from y: no cancellation where f saturates; the
  // layer-norm LSTM's backward uses them): y equals the arrays above bit for bit.
  void (*sigmoid_grad_array)(const float* x, float* y, float* dy, int64_t n);
  void (*tanh_grad_array)(const float* x, float* y, float* dy, int64_t n);

  // ---- transformer (transformer-inl.h; contracts: recurrent/kernels/softmax.h, gelu.h) ----
  float (*max_array)(const float* x, int64_t n);
  double (*exp_shift_sum)(float* x, int64_t n, float shift);
  double (*sum_squares)(const float* x, int64_t n);  // Σ x² in double (kernels/reduce.h)
  void (*gelu_array)(const float* x, float* y, int64_t n);
  void (*gelu_grad_add)(const float* x, const float* g, float* dx, int64_t n);
};

// The table of `target` (0: default_target()); throws if this CPU cannot run it.
const RnnKernels& rnn_kernels(int64_t target = 0);

}  // namespace recurrent::simd
