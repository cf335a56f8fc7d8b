// RG-LRU, the Real-Gated Linear Recurrent Unit of Griffin/Hawk (De et al. 2024); a scan cell (no W_hh:
// rnn_scan.cpp runs it). The Cell contract: nn/cell.h. Gates r, i and the value x (G = 3), from the layer
// input alone, and a learnt Λ per unit (lambda_l{k} [H], a = σ(Λ)), c = 8:
//   r = σ(a_r)   i = σ(a_i)   u = a_x   a_t = a^{c·r}, log a_t = c·r·log σ(Λ)
//   h = a_t ⊙ h_prev + √(1 - a_t²) ⊙ (i ⊙ u)                  (a = W_ih x + b_ih)
// The paper's x_t (the recurrence's own input, width H) is u = W_ix x + b_ix here, so the layer takes any
// input size; with I = H, W_ix = 1 and b_ix = 0 it is the paper's unit. The rows take la = log σ(Λ)
// (computed once per call by the driver) and return dL/d la; the driver applies d la/dΛ = 1 - σ(Λ).
// SIMD twin: src/kernels/simd/cells/rglru-inl.h.
#include <algorithm>
#include <cmath>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

constexpr float kC = 8.0f;

// ---- float rows: the scalar reference (a [3H], bias [3H] or null, la / hp / h [n]) ----

void forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* la, const float* hp, float* h) {
  for (int64_t j = 0; j < n; ++j) {
    float xr = a[j], xi = a[H + j], u = a[2 * H + j];
    if (bias) xr += bias[j], xi += bias[H + j], u += bias[2 * H + j];
    const float r = sigmoid_scalar(xr), i = sigmoid_scalar(xi);
    const float em = std::expm1(r * kC * la[j]), at = em + 1.0f, beta = std::sqrt(-(em * (at + 1.0f)));
    a[j] = r, a[H + j] = i, a[2 * H + j] = u;
    h[j] = std::fma(at, hp[j], beta * (i * u));
  }
}

// ds = dh a_t (h_prev - i u a_t/β):  da_r = ds c la r(1-r)   dla += ds c r   da_i = dh β u i(1-i)
// da_x = dh β i   dhp = dh a_t   (β ≥ 1e-30 in the ratio)
void backward_row(int64_t n, int64_t H, const float* a, const float* la, const float* hp, const float* dh, float* da,
                  float* dp, float* dla) {
  for (int64_t j = 0; j < n; ++j) {
    const float r = a[j], i = a[H + j], u = a[2 * H + j], l = la[j];
    const float em = std::expm1(r * kC * l), at = em + 1.0f, beta = std::sqrt(-(em * (at + 1.0f)));
    const float iu = i * u, ratio = at / std::max(beta, 1e-30f);
    const float ds = (dh[j] * at) * std::fma(-iu, ratio, hp[j]);
    const float dsc = ds * kC;
    dla[j] = std::fma(dsc, r, dla[j]);
    da[j] = (dsc * l) * (r * (1.0f - r));
    const float db = dh[j] * beta;
    da[H + j] = (db * u) * (i * (1.0f - i));
    da[2 * H + j] = db * i;
    dp[j] = dh[j] * at;
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->rglru_forward_row(o.n, o.H, o.a, o.bias, o.decay, o.hp, o.h);
    } else {
      forward_row(o.n, o.H, o.a, o.bias, o.decay, o.hp, o.h);
    }
  }
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->rglru_backward_row(r.n, r.H, r.a, r.decay, r.hp, r.dh, r.da, r.dhp, r.ddecay);
  backward_row(r.n, r.H, r.a, r.decay, r.hp, r.dh, r.da, r.dhp, r.ddecay);
}

// ---- double reference (xa = W_ih x + b_ih; no h side; Λ = p.lambda) ----

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

void ref_forward(const DirShape& s, const DirParams& p, RefStep& c) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double r = ref_sigmoid(c.xa[j]), i = ref_sigmoid(c.xa[H + j]), u = c.xa[2 * H + j];
    const double la = log_sigmoid(p.lambda[j]), at = std::exp(kC * r * la);
    c.gate[j] = r, c.gate[H + j] = i, c.gate[2 * H + j] = u;
    c.m[j] = at * c.hp[j] + std::sqrt(1 - at * at) * i * u;
  }
}

void ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double r = c.gate[j], i = c.gate[H + j], u = c.gate[2 * H + j], dh = d.dm[j];
    const double la = log_sigmoid(p.lambda[j]), at = std::exp(kC * r * la), beta = std::sqrt(1 - at * at);
    const double dat = dh * (c.hp[j] - i * u * at / beta);  // dL/da_t (∂β/∂a_t = -a_t/β)
    const double ds = dat * at;                              // s = log a_t = c r la
    d.dxa[j] = ds * kC * la * r * (1 - r);
    d.dxa[H + j] = dh * beta * u * i * (1 - i);
    d.dxa[2 * H + j] = dh * beta * i;
    d.dhp[j] = dh * at;
    gr.lambda[j] += ds * kC * r * (1 - ref_sigmoid(p.lambda[j]));  // d la/dΛ = 1 - σ(Λ)
  }
}

}  // namespace

extern const Cell kRgLru;
const Cell kRgLru{.type = CellType::rglru,
                  .name = "rglru",
                  .gates = 3,
                  .gate_names = {"r", "i", "x"},
                  .gate_acts = {Act::sigmoid, Act::sigmoid, Act::linear},
                  .cell_state = false,
                  .peephole = false,
                  .projection = false,
                  .h_gates = 0,
                  .h_apart = -1,
                  .extra = Extra::none,
                  .step_simd = true,
                  .scan = true,
                  .decay = true,
                  .forward = forward,
                  .forward2 = nullptr,
                  .backward = backward,
                  .backward2 = nullptr,
                  .ref_forward = ref_forward,
                  .ref_backward = ref_backward};

}  // namespace recurrent::rnn
