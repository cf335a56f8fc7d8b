// The simplified GRU (update gate only; gates u, c̃), the GRU of sequence-model courses. The Cell
// contract: nn/cell.h.
//   u = σ(a_u)   c̃ = tanh(a_c)   h = u ⊙ c̃ + (1-u) ⊙ h_prev      (a = W_ih x + b_ih + W_hh h_prev + b_hh)
// SIMD twin: src/kernels/simd/cells/gru_simple-inl.h.
#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

// ---- float rows: the scalar reference (a [2H], bias [2H] or null, hp / h [n]) ----

void forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  float *au = a, *ac = a + H;
  for (int64_t j = 0; j < n; ++j) {
    float xu = au[j], xc = ac[j];
    if (bias) xu += bias[j], xc += bias[H + j];
    float u = sigmoid_scalar(xu);
    float c = tanh_scalar(xc);
    au[j] = u, ac[j] = c;
    h[j] = u * c + (1.0f - u) * hp[j];
  }
}

// du_ = dh ⊙ (c̃ - h_prev) u(1-u)   dc_ = dh ⊙ u (1-c̃²)   dhp = dh ⊙ (1-u)
void backward_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da, float* dp) {
  for (int64_t j = 0; j < n; ++j) {
    float u = a[j], c = a[H + j];
    da[j] = dh[j] * (c - hp[j]) * u * (1.0f - u);
    da[H + j] = dh[j] * u * (1.0f - c * c);
    dp[j] = dh[j] * (1.0f - u);
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->gru_simple_forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    } else {
      forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    }
  }
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->gru_simple_backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
  backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
}

// ---- double reference (ha = W_hh h_prev + b_hh) ----

void ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    double u = ref_sigmoid(c.xa[j] + c.ha[j]), ct = std::tanh(c.xa[H + j] + c.ha[H + j]);
    c.gate[j] = u, c.gate[H + j] = ct;
    c.m[j] = u * ct + (1 - u) * c.hp[j];
  }
}

void ref_backward(const DirShape& s, const DirParams&, const RefStep& c, RefBack& d, RefGrads&) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    double u = c.gate[j], ct = c.gate[H + j];
    d.dxa[j] = d.dha[j] = d.dm[j] * (ct - c.hp[j]) * u * (1 - u);
    d.dxa[H + j] = d.dha[H + j] = d.dm[j] * u * (1 - ct * ct);
    d.dhp[j] = d.dm[j] * (1 - u);
  }
}

}  // namespace

extern const Cell kGruSimple;
const Cell kGruSimple{.type = CellType::gru_simple,
                      .name = "gru_simple",
                      .gates = 2,
                      .gate_names = {"u", "c"},
                      .gate_acts = {Act::sigmoid, Act::tanh},
                      .cell_state = false,
                      .peephole = false,
                      .projection = false,
                      .h_gates = 2,
                      .h_apart = -1,
                      .extra = Extra::none,
                      .step_simd = false,
                      .forward = forward,
                      .forward2 = nullptr,
                      .backward = backward,
                      .backward2 = nullptr,
                      .ref_forward = ref_forward,
                      .ref_backward = ref_backward};

}  // namespace recurrent::rnn
