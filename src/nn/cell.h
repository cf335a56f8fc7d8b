// A recurrent cell as one unit (issue 20): what it is (gates, state, what the tape keeps, where b_hh
// goes), its per-step kernels (the float gate/state rows: the scalar reference and the SIMD target's
// table entries, kernels/simd/cells/*-inl.h) and its double-precision reference equations. The sequence
// drivers read a Cell instead of switching on CellType:
//   rnn_direction.cpp       the per-step path (oneDNN products + these rows) and the tape's layout
//   rnn_fused_forward.cpp   the fused time loops (the target's panels + these rows)
//   rnn_fused_backward.cpp
//   rnn_reference.cpp       the plain double reference (the products + ref_forward / ref_backward)
// One file per cell (cell_lstm.cpp, cell_gru.cpp, cell_gru_cho.cpp, cell_gru_simple.cpp, cell_rnn.cpp, the scan
// cells cell_mingru.cpp, cell_minlstm.cpp, cell_rglru.cpp run by rnn_scan.cpp)
// defines its Cell(s); cell_registry.cpp maps CellType to them. Adding a cell: docs/engine.md, "Adding a cell".
//
// Dimension legend: B batch rows, H hidden size, R = size of h (H, or P with an LSTM projection), G gates;
// a block is n hidden units [j0, j0 + n) of one step: every pointer arrives offset by j0, gate g's
// columns at g·H. Pre-activations arrive in `a` and are overwritten by the activations, which backward
// needs (σ' = s(1-s), tanh' = 1-t², relu' = [h > 0] are all functions of outputs).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "nn/rnn_direction.h"

namespace recurrent::simd {
struct RnnKernels;
}

namespace recurrent::rnn {

enum class Act { sigmoid, tanh, relu, linear };  // a gate's nonlinearity (the gradient lab's saturation)

// What the tape's extra buffer EX [T, B, H] holds for the cell (an LSTM projection's m_t aside).
enum class Extra {
  none,
  backward,  // kept for backward only (GRU: W_hn h + b_hn): without a tape, one step's rows reused
  in_step,   // read within the step (Cho: r ⊙ h_{t-1}, the left operand of phase 2's product)
};

// Forward gate/state pass of M rows of one step, n units. Rows of a (and gh) lda apart; rows of hp, h,
// cp, c, ex H apart.
struct FwdRows {
  int64_t M, n, H;
  float* a;              // [M, lda] pre-activations in (products, no biases unless said), activations out
  int64_t lda;
  const float* gh;       // h_apart cells: [M, lda] W_hh h_{t-1} (no bias)
  bool folded;           // h_apart cells: a's gates before h_apart already hold x and h parts summed
  const float* bias;     // [G·H] added here, or null (the per-step path's a already holds them)
  const float* b_hh;     // h_apart cells: [G·H] b_hh, added to the h side; else null
  const float* peep;     // [3H] peephole weights (i, f, o) or null
  const float* hp;       // [M, H] h_{t-1}
  float* h;              // [M, H] out: h_t (m_t with an LSTM projection)
  const float* cp;       // cell_state: [M, H] c_{t-1}
  float* c;              // cell_state: [M, H] out: c_t
  float* ex;             // extra != none: [M, H] the tape's extra of the step (out)
  const float* decay = nullptr;  // decay cells (RG-LRU): [H] log σ(Λ) per unit (≤ 0)
  FwdRows row(int64_t b) const;  // row b alone (M = 1)
};

// Backward of one valid row of one step, n units. a and da may be the same buffer (read before written,
// element by element).
struct BwdRow {
  int64_t n, H;
  const float* a;        // [G·H] activations (phase 2: the gates phase 1 left, Cho's r)
  float* da;             // [G·H] out: gradients of the (x-side) pre-activations
  float* dgh;            // h_apart cells: [G·H] out: gradients of W_hh h_{t-1} + b_hh
  const float* hp;       // [H] h_{t-1}
  const float* cp;       // cell_state: [H] c_{t-1}
  const float* c;        // cell_state: [H] c_t
  const float* ex;       // [H] the tape's extra of the step
  const float* dh;       // [H] dL/dh_t (dL/dm_t with a projection)
  float* dc;             // cell_state: [H] dL/dc_t in, dL/dc_{t-1} out
  float* dhp;            // [H] out: the elementwise part of dL/dh_{t-1} (phase 2: added to); null: not wanted
  const float* peep;     // [3H] or null
  float* dpeep;          // [3H] peephole gradients, added to (with peep)
  const float* dex;      // phase 2: [H] dL/d ex (Cho: da_n · W_hn)
  const float* decay = nullptr;  // decay cells: [H] log σ(Λ) (as FwdRows::decay)
  float* ddecay = nullptr;       // decay cells: [H] dL/d decay, added to
};

// Per-step state of the reference (double), one row of one step, kept for backward.
struct RefStep {
  std::vector<double> xa, ha;  // [G·H] W_ih x + b_ih; W_hh h_{t-1} + b_hh (rows past h_gates·H: the cell's)
  std::vector<double> gate;    // [G·H] activations
  std::vector<double> m;       // [H] the cell's output (h_t, or what the projection multiplies)
  std::vector<double> c;       // [H] cell_state: c_t
  std::vector<double> ex;      // [H] Cho: r ⊙ h_{t-1}
  std::vector<double> h;       // [R] h_t
  std::vector<double> hp, cp;  // h_{t-1} [R], c_{t-1} [H]
  std::vector<double> nx, nh, nc;  // layer-norm cells: LN(W_ih x), LN(W_hh h_{t-1}) [G·H], LSTM: LN(c_t) [H]
  double isx = 0, ish = 0, isc = 0;  // their 1/σ
  bool valid = false;
};
// Backward of one valid reference step: the cell fills dxa, dha, dhp (its elementwise part) and dc; the
// driver adds W_hh[0 : h_gates·H]ᵀ dha to dhp and the products' weight gradients.
struct RefBack {
  std::vector<double> dm;        // [H] in: dL/dm_t
  std::vector<double> dc;        // [H] cell_state: dL/dc_t in, dL/dc_{t-1} out
  std::vector<double> dxa, dha;  // [G·H] out (zeroed by the driver)
  std::vector<double> dhp;       // [R] out (zeroed by the driver)
};
// Weight-gradient accumulators of the reference in double, flushed into the caller's floats at the end.
struct RefGrads {
  std::vector<double> w_ih, w_hh, b_ih, b_hh, w_hr, w_ch, lambda;
  std::vector<double> ln_ih, ln_hh, ln_c, ln_cb;  // layer-norm cells' gains (and the c-norm's bias)
  explicit RefGrads(const DirShape& s);
};
// y[g] = b[g] + Σ_k W[g, k] v[k] for g in [g0, g1) (W rows K apart; b may be null)
void ref_affine(const float* W, const float* b, const double* v, int64_t K, int64_t g0, int64_t g1, double* y);
inline double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Cell {
  CellType type;
  const char* name;
  int gates;                 // G
  const char* gate_names[4]; // PyTorch's gate order (docs/cells.md)
  Act gate_acts[4];
  bool cell_state;           // carries c_t beside h_t (CS, dc)
  bool peephole;             // has weight_ch [3, H]
  bool projection;           // allows proj_size (h = W_hr m)
  // Gates whose W_hh rows multiply h_{t-1}: all, or Cho's r, z; the rest multiply the tape's extra (r ⊙ h)
  // in a second phase of the step, after every column of the extra is known (two_phase()).
  int h_gates;
  // First gate whose h side (W_hh h_{t-1} + b_hh) reaches the gate pass apart from the x side (GRU's n =
  // tanh(x_n + r ⊙ (W_hn h + b_hn))), -1: none. With it, the products write gh (all gates; only these
  // when the input is folded), b_hh is added in the gate pass instead of with b_ih, and backward writes
  // the h side's own gradients dGh (what W_hh and b_hh see).
  int h_apart;
  Extra extra;
  // Whether the per-step path runs the target's SIMD rows (else the scalar rows: kept as they were
  // before issue 20, bitwise; either is tested against the reference).
  bool step_simd;
  // Scan cells (minGRU, minLSTM, RG-LRU; h_gates = 0): no W_hh, no b_hh; every gate is a function of x_t
  // alone and h_t = a_t ⊙ h_{t-1} + b_t, so rnn_scan.cpp runs them (X·W_ihᵀ for all steps in one GEMM, then
  // an elementwise scan over t) instead of the drivers above. decay: has lambda_l{k} [H] (RG-LRU's Λ),
  // handed to the rows as log σ(Λ) (FwdRows::decay).
  bool scan = false;
  bool decay = false;

  // ---- float rows; k = null: the scalar reference rows (the SIMD kernels are tested against them) ----
  // phase 1 (the only one unless two_phase()): gates (two-phase: those of h_gates, and ex), state, h
  void (*forward)(const simd::RnnKernels* k, const FwdRows& r);
  void (*forward2)(const simd::RnnKernels* k, const FwdRows& r);  // two_phase(): the rest (a's other gates += ex W)
  void (*backward)(const simd::RnnKernels* k, const BwdRow& r);
  void (*backward2)(const simd::RnnKernels* k, const BwdRow& r);  // two_phase(): with dex known

  // ---- double reference (rnn_reference.cpp) ----
  // In: c.xa, c.ha rows [0, h_gates·H), c.hp, c.cp. Out: c.gate, c.m, c.c, c.ex (and ha's other rows).
  void (*ref_forward)(const DirShape& s, const DirParams& p, RefStep& c);
  void (*ref_backward)(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr);

  bool two_phase() const { return !scan && h_gates < gates; }
};

const Cell& cell_of(CellType c);  // cell_registry.cpp
// The cell's projection is on (h = W_hr m, R < H).
inline bool projected(const Cell& c, int64_t H, int64_t R) { return c.projection && R != H; }

}  // namespace recurrent::rnn
