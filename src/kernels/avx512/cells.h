// Entry points of the AVX-512 row kernels of the LSTM and GRU gate/state passes
// (src/kernels/avx512/cells512.cpp). Baseline-compiled callers (src/nn/cell_*.cpp) call them only
// when active_isa() == Isa::avx512. One call = one batch row, hidden units [j0, j0 + n) of H: every
// pointer arrives offset by j0 and gate blocks are H apart (n = H, j0 = 0: the whole row). Shapes
// and equations as the generic row kernels they replace (src/nn/cell_kernels.h); n ≥ 1 any size.
#pragma once

#include <cstdint>

namespace recurrent::avx512 {

// a [4H] (i, f, g, o), bias [4H] (added to a first) or null, peep [3H] or null, cp / c / m [H]
void lstm_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* peep, const float* cp, float* c,
                      float* m);
// lstm_forward_row on M rows (bitwise the same): a rows lda apart, cp / c / m rows H apart.
void lstm_forward_rows(int64_t M, int64_t n, int64_t H, float* a, int64_t lda, const float* bias, const float* peep,
                       const float* cp, float* c, float* m);
// a [4H] activations, cp / cb / dm [H], dc [H] in dL/dc_t out dL/dc_{t-1}, da [4H], dpeep [3H] (+=, if peep)
void lstm_backward_row(int64_t n, int64_t H, const float* a, const float* peep, const float* cp, const float* cb,
                       const float* dm, float* dc, float* da, float* dpeep);
// GRU linear-before-reset: a [3H] (x-part in, r, z, n out), bias [3H] (b_ih, added to a) or null, gh [3H],
// b_hh [3H] or null, hp / h / nh [H]
void gru_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* gh, const float* b_hh,
                     const float* hp, float* h, float* nh);
// gru_forward_row on M rows (a and gh rows lda apart; hp, h, nh rows H apart). rz_in_a: a's r, z
// columns hold the whole pre-activation (x and h parts) and gh's are not read; else bitwise gru_forward_row.
void gru_forward_rows(int64_t M, int64_t n, int64_t H, float* a, const float* gh, int64_t lda, const float* bias,
                      const float* b_hh, bool rz_in_a, const float* hp, float* h, float* nh);
// dx, dg [3H] (x-side and h-side pre-activation grads), dp [H] = dh ⊙ z
void gru_backward_row(int64_t n, int64_t H, const float* a, const float* nh, const float* hp, const float* dh, float* dx,
                      float* dg, float* dp);

// Vanilla RNN: a [H] (pre-activation in, f(a) out), bias [H] or null, h [H]; backward da = dh ⊙ f'(a).
void rnn_forward_row(int64_t n, bool relu, float* a, const float* bias, float* h);
void rnn_backward_row(int64_t n, bool relu, const float* a, const float* dh, float* da);
// Simplified GRU: a [2H] (u, c̃), bias [2H] or null, hp / h [H]; backward da [2H], dp [H] = dh ⊙ (1-u).
void gru_simple_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
void gru_simple_backward_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                             float* dp);

// GRU (Cho): a [3H] (r, z, n), bias [3H] or null, hp / rh / h / drh / dp [H]; phase 1 gates (+ rh),
// phase 2 n and h; backward: n, z (dp = dh ⊙ z), then r (dp += drh ⊙ r) once drh = da_n W_hn is known.
void gru_cho_gates_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* rh);
void gru_cho_state_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h);
void gru_cho_backward_nz_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                             float* dp);
void gru_cho_backward_r_row(int64_t n, const float* a, const float* hp, const float* drh, float* da, float* dp);

}  // namespace recurrent::avx512

namespace recurrent::avx512 {

// Panel GEMM (src/kernels/avx512/panel_gemm512.cpp): C[M, 0:ncols] (+)= A[M, K] · P[K, 32], with P
// one 64-byte aligned panel of 32 columns (zero-padded past ncols ≤ 32); accumulate: C += instead of =.
constexpr int64_t kPanel = 32;
void panel_gemm(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                int64_t ldc, bool accumulate);
// Two left operands against consecutive panel rows: C (+)= A1[M, K1] · P[0:K1] + A2[M, K2] · P[K1:K1+K2],
// one accumulation (k ascending through A1, then A2). next (or null): a panel of the same K1 + K2
// rows to prefetch into L2 meanwhile (the caller's next product; prefetches never fault).
void panel_gemm2(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2, int64_t lda2,
                 const float* P, int64_t ncols, float* C, int64_t ldc, bool accumulate, const float* next = nullptr);

}  // namespace recurrent::avx512
