// Layer-normalised LSTM and GRU (Ba, Kiros & Hinton 2016; docs/cells.md "Layer-normalised LSTM and GRU"). The
// x side and the h side of the gate pre-activations are normalised apart, each over all G·H values of a row
// with its own gain (b_ih and b_hh are their biases), and the LSTM also normalises c_t before the output tanh:
//   xa = γ_x ⊙ LN(W_ih x) + b_ih        ha = γ_h ⊙ LN(W_hh h_{t-1}) + b_hh
//   lstm_ln: the LSTM's gates on xa + ha; c_t as the LSTM; h_t = o ⊙ tanh(γ_c ⊙ LN(c_t) + β_c)
//   gru_ln:  the GRU's gates on xa, ha (n = tanh(xa_n + r ⊙ ha_n))
// The gate passes are the LSTM's and the GRU's own rows (their SIMD twins); the normalisations, which reduce
// across a row, run in the fused driver rnn_fused_ln.cpp (rows split) and in the reference's products
// (rnn_reference.cpp). The double reference of the LSTM's c-norm is here.
#include <cmath>

#include "nn/cell.h"

namespace recurrent::rnn {

extern const Cell kLstm, kGru;

namespace {

void lstm_forward(const simd::RnnKernels* k, const FwdRows& r) { kLstm.forward(k, r); }
void lstm_backward(const simd::RnnKernels* k, const BwdRow& r) { kLstm.backward(k, r); }
void gru_forward(const simd::RnnKernels* k, const FwdRows& r) { kGru.forward(k, r); }
void gru_backward(const simd::RnnKernels* k, const BwdRow& r) { kGru.backward(k, r); }
void gru_ref_forward(const DirShape& s, const DirParams& p, RefStep& c) { kGru.ref_forward(s, p, c); }
void gru_ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr) {
  kGru.ref_backward(s, p, c, d, gr);
}

// In: c.xa, c.ha (normalised, with gains and biases). Out: gates, c_t, c.nc = LN(c_t), c.isc, m.
void lstm_ref_forward(const DirShape& s, const DirParams& p, RefStep& c) {
  const int64_t H = s.H;
  c.c.assign(H, 0.0);
  c.m.assign(H, 0.0);
  c.nc.assign(H, 0.0);
  for (int64_t j = 0; j < H; ++j) {
    auto pre = [&](int k) { return c.xa[k * H + j] + c.ha[k * H + j]; };
    const double i = ref_sigmoid(pre(0)), f = ref_sigmoid(pre(1)), g = std::tanh(pre(2)), o = ref_sigmoid(pre(3));
    c.gate[j] = i, c.gate[H + j] = f, c.gate[2 * H + j] = g, c.gate[3 * H + j] = o;
    c.c[j] = f * c.cp[j] + i * g;
  }
  double mu = 0.0, var = 0.0;
  for (int64_t j = 0; j < H; ++j) mu += c.c[j];
  mu /= static_cast<double>(H);
  for (int64_t j = 0; j < H; ++j) var += (c.c[j] - mu) * (c.c[j] - mu);
  c.isc = 1.0 / std::sqrt(var / static_cast<double>(H) + 1e-5);
  for (int64_t j = 0; j < H; ++j) {
    c.nc[j] = (c.c[j] - mu) * c.isc;
    c.m[j] = c.gate[3 * H + j] * std::tanh(p.ln_c[j] * c.nc[j] + p.ln_cb[j]);
  }
}

// d.dm, d.dc in; d.dxa = d.dha (the gates' pre-activation gradients), d.dc = dL/dc_{t-1}; γ_c, β_c gradients.
void lstm_ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr) {
  const int64_t H = s.H;
  const auto& a = c.gate;
  std::vector<double> dch(H);
  double m1 = 0.0, m2 = 0.0;
  for (int64_t j = 0; j < H; ++j) {
    const double o = a[3 * H + j], tc = std::tanh(p.ln_c[j] * c.nc[j] + p.ln_cb[j]);
    const double dcn = d.dm[j] * o * (1 - tc * tc);
    d.dxa[3 * H + j] = d.dm[j] * tc * o * (1 - o);
    gr.ln_c[j] += dcn * c.nc[j];
    gr.ln_cb[j] += dcn;
    dch[j] = dcn * p.ln_c[j];
    m1 += dch[j];
    m2 += dch[j] * c.nc[j];
  }
  m1 /= static_cast<double>(H), m2 /= static_cast<double>(H);
  for (int64_t j = 0; j < H; ++j) {
    const double i = a[j], f = a[H + j], g = a[2 * H + j];
    const double dct = d.dc[j] + c.isc * (dch[j] - m1 - c.nc[j] * m2);
    d.dxa[j] = dct * g * i * (1 - i);
    d.dxa[H + j] = dct * c.cp[j] * f * (1 - f);
    d.dxa[2 * H + j] = dct * i * (1 - g * g);
    d.dc[j] = dct * f;
  }
  d.dha = d.dxa;
}

}  // namespace

extern const Cell kLstmLn, kGruLn;

const Cell kLstmLn{.type = CellType::lstm_ln,
                   .name = "lstm_ln",
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
                   .forward = lstm_forward,
                   .forward2 = nullptr,
                   .backward = lstm_backward,
                   .backward2 = nullptr,
                   .ref_forward = lstm_ref_forward,
                   .ref_backward = lstm_ref_backward};

const Cell kGruLn{.type = CellType::gru_ln,
                  .name = "gru_ln",
                  .gates = 3,
                  .gate_names = {"r", "z", "n"},
                  .gate_acts = {Act::sigmoid, Act::sigmoid, Act::tanh},
                  .cell_state = false,
                  .peephole = false,
                  .projection = false,
                  .h_gates = 3,
                  .h_apart = 2,
                  .extra = Extra::backward,
                  .step_simd = true,
                  .forward = gru_forward,
                  .forward2 = nullptr,
                  .backward = gru_backward,
                  .backward2 = nullptr,
                  .ref_forward = gru_ref_forward,
                  .ref_backward = gru_ref_backward};

}  // namespace recurrent::rnn
