// LSTM (gates i, f, g, o), with optional peepholes w_ch [3, H] (Gers & Schmidhuber 2000) and, in the
// drivers, an optional projection h = W_hr m (PyTorch's proj_size). The Cell contract: nn/cell.h.
//   i = σ(a_i + w_ci ⊙ c_prev)   f = σ(a_f + w_cf ⊙ c_prev)   g = tanh(a_g)
//   c = f ⊙ c_prev + i ⊙ g       o = σ(a_o + w_co ⊙ c)        m = o ⊙ tanh(c)
// (a = W_ih x + b_ih + W_hh h_prev + b_hh). SIMD twin: src/kernels/simd/cells/lstm-inl.h.
#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

// ---- float rows: the scalar reference (sigmoid_scalar / tanh_scalar are branch-free: GCC vectorises) ----

// One row: a [4H] pre-activations in, activations out; bias [4H] / peep [3H] or null; cp, c, m [n].
void forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* peep, const float* cp, float* c,
                 float* m) {
  float *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  for (int64_t j = 0; j < n; ++j) {
    float xi = ai[j], xf = af[j], xg = ag[j], xo = ao[j];
    if (bias) xi += bias[j], xf += bias[H + j], xg += bias[2 * H + j], xo += bias[3 * H + j];
    float pi = peep ? peep[j] * cp[j] : 0.0f;
    float pf = peep ? peep[H + j] * cp[j] : 0.0f;
    float i = sigmoid_scalar(xi + pi);
    float f = sigmoid_scalar(xf + pf);
    float g = tanh_scalar(xg);
    float cn = f * cp[j] + i * g;
    float po = peep ? peep[2 * H + j] * cn : 0.0f;
    float o = sigmoid_scalar(xo + po);
    ai[j] = i, af[j] = f, ag[j] = g, ao[j] = o;
    c[j] = cn;
    m[j] = o * tanh_scalar(cn);
  }
}

// Backward of one row, per element (tc = tanh c):
//   do_ = dm ⊙ tc ⊙ o(1-o)                       (pre-activation grad of o)
//   dc  = dc_next + dm ⊙ o ⊙ (1 - tc²) + do_ ⊙ w_co
//   di_ = dc ⊙ g ⊙ i(1-i)    df_ = dc ⊙ c_prev ⊙ f(1-f)    dg_ = dc ⊙ i ⊙ (1-g²)
//   dc_prev = dc ⊙ f + di_ ⊙ w_ci + df_ ⊙ w_cf
//   dw_ci += di_ ⊙ c_prev   dw_cf += df_ ⊙ c_prev   dw_co += do_ ⊙ c
void backward_row(int64_t n, int64_t H, const float* a, const float* peep, const float* cp, const float* cb,
                  const float* dm, float* dc, float* da, float* dpeep) {
  for (int64_t j = 0; j < n; ++j) {
    float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
    float tc = tanh_scalar(cb[j]);
    float d_o = dm[j] * tc * o * (1.0f - o);
    float dct = dc[j] + dm[j] * o * (1.0f - tc * tc) + (peep ? d_o * peep[2 * H + j] : 0.0f);
    float d_i = dct * g * i * (1.0f - i);
    float d_f = dct * cp[j] * f * (1.0f - f);
    float d_g = dct * i * (1.0f - g * g);
    da[j] = d_i, da[H + j] = d_f, da[2 * H + j] = d_g, da[3 * H + j] = d_o;
    float dcp = dct * f;
    if (peep) {
      dcp += d_i * peep[j] + d_f * peep[H + j];
      dpeep[j] += d_i * cp[j];
      dpeep[H + j] += d_f * cp[j];
      dpeep[2 * H + j] += d_o * cb[j];
    }
    dc[j] = dcp;
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  if (k) return k->lstm_forward_rows(r.M, r.n, r.H, r.a, r.lda, r.bias, r.peep, r.cp, r.c, r.h);
  for (int64_t b = 0; b < r.M; ++b)
    forward_row(r.n, r.H, r.a + b * r.lda, r.bias, r.peep, r.cp + b * r.H, r.c + b * r.H, r.h + b * r.H);
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) {
    k->lstm_backward_row(r.n, r.H, r.a, r.peep, r.cp, r.c, r.dh, r.dc, r.da, r.dpeep);
  } else {
    backward_row(r.n, r.H, r.a, r.peep, r.cp, r.c, r.dh, r.dc, r.da, r.dpeep);
  }
  if (r.dhp) std::memset(r.dhp, 0, r.n * sizeof(float));  // h_{t-1} reaches h_t only through the products
}

// ---- double reference ----

void ref_forward(const DirShape& s, const DirParams& p, RefStep& c) {
  const int64_t H = s.H;
  const double* cp = c.cp.data();
  c.c.assign(H, 0.0);
  c.m.assign(H, 0.0);
  for (int64_t j = 0; j < H; ++j) {
    auto pre = [&](int k) { return c.xa[k * H + j] + c.ha[k * H + j]; };
    double i = ref_sigmoid(pre(0) + (p.w_ch ? p.w_ch[j] * cp[j] : 0.0));
    double f = ref_sigmoid(pre(1) + (p.w_ch ? p.w_ch[H + j] * cp[j] : 0.0));
    double g = std::tanh(pre(2));
    double cn = f * cp[j] + i * g;
    double o = ref_sigmoid(pre(3) + (p.w_ch ? p.w_ch[2 * H + j] * cn : 0.0));
    c.gate[j] = i, c.gate[H + j] = f, c.gate[2 * H + j] = g, c.gate[3 * H + j] = o;
    c.c[j] = cn;
    c.m[j] = o * std::tanh(cn);
  }
}

void ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr) {
  const int64_t H = s.H;
  const auto& a = c.gate;
  for (int64_t j = 0; j < H; ++j) {
    double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], tc = std::tanh(c.c[j]);
    double d_o = d.dm[j] * tc * o * (1 - o);
    double dct = d.dc[j] + d.dm[j] * o * (1 - tc * tc) + (p.w_ch ? d_o * p.w_ch[2 * H + j] : 0.0);
    double d_i = dct * g * i * (1 - i), d_f = dct * c.cp[j] * f * (1 - f), d_g = dct * i * (1 - g * g);
    d.dxa[j] = d_i, d.dxa[H + j] = d_f, d.dxa[2 * H + j] = d_g, d.dxa[3 * H + j] = d_o;
    double dcp = dct * f;
    if (p.w_ch) {
      dcp += d_i * p.w_ch[j] + d_f * p.w_ch[H + j];
      gr.w_ch[j] += d_i * c.cp[j];
      gr.w_ch[H + j] += d_f * c.cp[j];
      gr.w_ch[2 * H + j] += d_o * c.c[j];
    }
    d.dc[j] = dcp;
  }
  d.dha = d.dxa;  // both sides see the same pre-activation
}

}  // namespace

extern const Cell kLstm, kLstmPeephole;

const Cell kLstm{.type = CellType::lstm,
                 .name = "lstm",
                 .gates = 4,
                 .gate_names = {"i", "f", "g", "o"},
                 .gate_acts = {Act::sigmoid, Act::sigmoid, Act::tanh, Act::sigmoid},
                 .cell_state = true,
                 .peephole = false,
                 .projection = true,
                 .h_gates = 4,
                 .h_apart = -1,
                 .extra = Extra::none,
                 .step_simd = true,
                 .forward = forward,
                 .forward2 = nullptr,
                 .backward = backward,
                 .backward2 = nullptr,
                 .ref_forward = ref_forward,
                 .ref_backward = ref_backward};

// The same cell with weight_ch: the kernels take the peepholes where DirParams::w_ch is set.
const Cell kLstmPeephole{.type = CellType::lstm_peephole,
                         .name = "lstm_peephole",
                         .gates = 4,
                         .gate_names = {"i", "f", "g", "o"},
                         .gate_acts = {Act::sigmoid, Act::sigmoid, Act::tanh, Act::sigmoid},
                         .cell_state = true,
                         .peephole = true,
                         .projection = true,
                         .h_gates = 4,
                         .h_apart = -1,
                         .extra = Extra::none,
                         .step_simd = true,
                         .forward = forward,
                         .forward2 = nullptr,
                         .backward = backward,
                         .backward2 = nullptr,
                         .ref_forward = ref_forward,
                         .ref_backward = ref_backward};

}  // namespace recurrent::rnn
