// Recurrent batch-normalised LSTM (Cooijmans, Ballas, Laurent, Gülçehre & Courville 2016; docs/cells.md
// "Recurrent batch-normalised LSTM"): the x side and the h side of the gate pre-activations are normalised
// apart, each feature over the batch's rows valid at the time step, with per-time-step statistics, and c_t
// is normalised (over the batch) before the output tanh:
//   (i, f, g, o) pre-activations = γ_h ⊙ BN_t(W_hh h_{t-1}) + γ_x ⊙ BN_t(W_ih x_t) + b_ih + b_hh
//   c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)          h_t = σ(o) ⊙ tanh(γ_c ⊙ BN_t(c_t) + β_c)
// The statistics reduce across rows, so the per-row parts are here (the gate pass: the LSTM's own float rows
// and their SIMD twins; the double reference's gates and their backward) and the driver that normalises
// across rows, time step by time step, is rnn_bn.cpp.
#include <cmath>

#include "nn/cell.h"

namespace recurrent::rnn {

extern const Cell kLstm;

namespace {

void bn_lstm_rows_forward(const simd::RnnKernels* k, const FwdRows& r) { kLstm.forward(k, r); }
void bn_lstm_rows_backward(const simd::RnnKernels* k, const BwdRow& r) { kLstm.backward(k, r); }

// In: c.xa, c.ha [4H] (normalised, with gains and biases), c.cp. Out: c.gate [4H] activations, c.c = c_t.
// The driver normalises c_t over the batch and sets c.nc, c.m (rnn_bn.cpp).
void bn_lstm_ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  const int64_t H = s.H;
  c.c.assign(H, 0.0);
  for (int64_t j = 0; j < H; ++j) {
    auto pre = [&](int k) { return c.xa[k * H + j] + c.ha[k * H + j]; };
    const double i = ref_sigmoid(pre(0)), f = ref_sigmoid(pre(1)), g = std::tanh(pre(2)), o = ref_sigmoid(pre(3));
    c.gate[j] = i, c.gate[H + j] = f, c.gate[2 * H + j] = g, c.gate[3 * H + j] = o;
    c.c[j] = f * c.cp[j] + i * g;
  }
}

// In: d.dm [H] = dL/dm_t, d.dc [H] = the WHOLE dL/dc_t (from step t+1 and, through the c-norm, from m_t: the
// driver adds that part, which reduces over the batch). Out: d.dxa = d.dha [4H] (pre-activation gradients),
// d.dc = dL/dc_{t-1}.
//   m = o ⊙ tanh(u), u = γ_c ⊙ n_c + β_c:  da_o = dm ⊙ tanh(u) ⊙ o(1-o)
//   c_t = f ⊙ c_{t-1} + i ⊙ g:  da_i = dc ⊙ g ⊙ i(1-i), da_f = dc ⊙ c_{t-1} ⊙ f(1-f), da_g = dc ⊙ i ⊙ (1-g²)
void bn_lstm_ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads&) {
  const int64_t H = s.H;
  const auto& a = c.gate;
  for (int64_t j = 0; j < H; ++j) {
    const double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
    const double tu = std::tanh(p.ln_c[j] * c.nc[j] + p.ln_cb[j]);
    d.dxa[3 * H + j] = d.dm[j] * tu * o * (1 - o);
    d.dxa[j] = d.dc[j] * g * i * (1 - i);
    d.dxa[H + j] = d.dc[j] * c.cp[j] * f * (1 - f);
    d.dxa[2 * H + j] = d.dc[j] * i * (1 - g * g);
    d.dc[j] *= f;
  }
  d.dha = d.dxa;
}

}  // namespace

extern const Cell kLstmBn;

const Cell kLstmBn{.type = CellType::lstm_bn,
                   .name = "lstm_bn",
                   .gates = 4,
                   .gate_names = {"i", "f", "g", "o"},
                   .gate_acts = {Act::sigmoid, Act::sigmoid, Act::tanh, Act::sigmoid},
                   .cell_state = true,
                   .peephole = false,
                   .projection = false,
                   .h_gates = 4,
                   .h_apart = -1,
                   .extra = Extra::none,
                   .step_simd = true,
                   .forward = bn_lstm_rows_forward,
                   .forward2 = nullptr,
                   .backward = bn_lstm_rows_backward,
                   .backward2 = nullptr,
                   .ref_forward = bn_lstm_ref_forward,
                   .ref_backward = bn_lstm_ref_backward};

}  // namespace recurrent::rnn
