// The vanilla RNN, tanh or ReLU (G = 1). The Cell contract: nn/cell.h.
//   h = f(a),  a = W_ih x + b_ih + W_hh h_prev + b_hh,  f = tanh | relu
// backward: da = dh ⊙ f'(a), f' = 1 - h² (tanh) or [h > 0] (relu). SIMD twin: src/kernels/simd/cells/rnn-inl.h.
#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

// ---- float rows: the scalar reference (a [H], bias [H] or null, h [n]) ----

template <bool Relu>
void forward_row(int64_t n, float* a, const float* bias, float* h) {
  for (int64_t j = 0; j < n; ++j) {
    float x = a[j];
    if (bias) x += bias[j];
    float v = Relu ? (x > 0.0f ? x : 0.0f) : tanh_scalar(x);
    a[j] = v;
    h[j] = v;
  }
}

template <bool Relu>
void backward_row(int64_t n, const float* a, const float* dh, float* da) {
  for (int64_t j = 0; j < n; ++j) da[j] = Relu ? (a[j] > 0.0f ? dh[j] : 0.0f) : dh[j] * (1.0f - a[j] * a[j]);
}

template <bool Relu>
void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->rnn_forward_row(o.n, Relu, o.a, o.bias, o.h);
    } else {
      forward_row<Relu>(o.n, o.a, o.bias, o.h);
    }
  }
}

template <bool Relu>
void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) {
    k->rnn_backward_row(r.n, Relu, r.a, r.dh, r.da);
  } else {
    backward_row<Relu>(r.n, r.a, r.dh, r.da);
  }
  if (r.dhp) std::memset(r.dhp, 0, r.n * sizeof(float));  // h_{t-1} reaches h_t only through the product
}

// ---- double reference ----

template <bool Relu>
void ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  for (int64_t j = 0; j < s.H; ++j) {
    double a = c.xa[j] + c.ha[j];
    c.gate[j] = c.m[j] = Relu ? (a > 0 ? a : 0.0) : std::tanh(a);
  }
}

template <bool Relu>
void ref_backward(const DirShape& s, const DirParams&, const RefStep& c, RefBack& d, RefGrads&) {
  const auto& a = c.gate;
  for (int64_t j = 0; j < s.H; ++j)
    d.dxa[j] = d.dha[j] = Relu ? (a[j] > 0 ? d.dm[j] : 0.0) : d.dm[j] * (1 - a[j] * a[j]);
}

template <bool Relu>
constexpr Cell rnn_cell(CellType type, const char* name) {
  return {.type = type,
          .name = name,
          .gates = 1,
          .gate_names = {"h"},
          .gate_acts = {Relu ? Act::relu : Act::tanh},
          .cell_state = false,
          .peephole = false,
          .projection = false,
          .h_gates = 1,
          .h_apart = -1,
          .extra = Extra::none,
          .step_simd = false,
          .forward = forward<Relu>,
          .forward2 = nullptr,
          .backward = backward<Relu>,
          .backward2 = nullptr,
          .ref_forward = ref_forward<Relu>,
          .ref_backward = ref_backward<Relu>};
}

}  // namespace

extern const Cell kRnnTanh, kRnnRelu;
const Cell kRnnTanh = rnn_cell<false>(CellType::rnn_tanh, "rnn_tanh");
const Cell kRnnRelu = rnn_cell<true>(CellType::rnn_relu, "rnn_relu");

}  // namespace recurrent::rnn
