// GRU, PyTorch/cuDNN "linear-before-reset" (gates r, z, n). The Cell contract: nn/cell.h.
//   r = σ(ax_r + gh_r + b_hr)   z = σ(ax_z + gh_z + b_hz)
//   nh = gh_n + b_hn            n = tanh(ax_n + r ⊙ nh)        h = (1-z) ⊙ n + z ⊙ h_prev
// (ax = W_ih x + b_ih, gh = W_hh h_prev). The h side stays apart from the x side (h_apart = 2: n), so
// b_hh is added in the gate pass and backward keeps dGh, the gradients W_hh and b_hh see; the tape
// keeps nh for backward (Extra::backward). SIMD twin: src/kernels/simd/cells/gru-inl.h.
#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

// ---- float rows: the scalar reference ----

// One row: a [3H] x-part in (bias [3H] or null added), activations out; gh [3H] = W_hh h_prev (no bias),
// its r, z columns not read when rz_in_a (already summed into a); b_hh [3H] or null; hp, h, nh [n].
void forward_row(int64_t n, int64_t H, float* a, const float* gh, const float* bias, const float* b_hh, bool rz_in_a,
                 const float* hp, float* h, float* nh) {
  float *ar = a, *az = a + H, *an = a + 2 * H;
  for (int64_t j = 0; j < n; ++j) {
    float xr = ar[j], xz = az[j], xn = an[j];
    if (!rz_in_a) xr += gh[j], xz += gh[H + j];
    if (bias) xr += bias[j], xz += bias[H + j], xn += bias[2 * H + j];
    float br = b_hh ? b_hh[j] : 0.0f, bz = b_hh ? b_hh[H + j] : 0.0f, bn = b_hh ? b_hh[2 * H + j] : 0.0f;
    float r = sigmoid_scalar(xr + br);
    float z = sigmoid_scalar(xz + bz);
    float nhv = gh[2 * H + j] + bn;
    float nv = tanh_scalar(xn + r * nhv);
    ar[j] = r, az[j] = z, an[j] = nv;
    nh[j] = nhv;
    h[j] = (1.0f - z) * nv + z * hp[j];
  }
}

// dn_ = dh ⊙ (1-z) ⊙ (1-n²)     dz_ = dh ⊙ (h_prev - n) ⊙ z(1-z)     dr_ = dn_ ⊙ nh ⊙ r(1-r)
// x-side grads dx = (dr_, dz_, dn_); h-side grads dg = (dr_, dz_, dn_ ⊙ r); dhp = dh ⊙ z.
void backward_row(int64_t n, int64_t H, const float* a, const float* nh, const float* hp, const float* dh, float* dx,
                  float* dg, float* dp) {
  const float *ar = a, *az = a + H, *an = a + 2 * H;
  for (int64_t j = 0; j < n; ++j) {
    float r = ar[j], z = az[j], nv = an[j];
    float dn = dh[j] * (1.0f - z) * (1.0f - nv * nv);
    float dz = dh[j] * (hp[j] - nv) * z * (1.0f - z);
    float dr = dn * nh[j] * r * (1.0f - r);
    dx[j] = dr, dx[H + j] = dz, dx[2 * H + j] = dn;
    dg[j] = dr, dg[H + j] = dz, dg[2 * H + j] = dn * r;
    dp[j] = dh[j] * z;
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  if (k) return k->gru_forward_rows(r.M, r.n, r.H, r.a, r.gh, r.lda, r.bias, r.b_hh, r.folded, r.hp, r.h, r.ex);
  for (int64_t b = 0; b < r.M; ++b)
    forward_row(r.n, r.H, r.a + b * r.lda, r.gh + b * r.lda, r.bias, r.b_hh, r.folded, r.hp + b * r.H,
                r.h + b * r.H, r.ex + b * r.H);
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->gru_backward_row(r.n, r.H, r.a, r.ex, r.hp, r.dh, r.da, r.dgh, r.dhp);
  backward_row(r.n, r.H, r.a, r.ex, r.hp, r.dh, r.da, r.dgh, r.dhp);
}

// ---- double reference (ha = W_hh h_prev + b_hh, every row) ----

void ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    double r = ref_sigmoid(c.xa[j] + c.ha[j]), z = ref_sigmoid(c.xa[H + j] + c.ha[H + j]);
    double n = std::tanh(c.xa[2 * H + j] + r * c.ha[2 * H + j]);
    c.gate[j] = r, c.gate[H + j] = z, c.gate[2 * H + j] = n;
    c.m[j] = (1 - z) * n + z * c.hp[j];
  }
}

void ref_backward(const DirShape& s, const DirParams&, const RefStep& c, RefBack& d, RefGrads&) {
  const int64_t H = s.H;
  const auto& a = c.gate;
  for (int64_t j = 0; j < H; ++j) {
    double r = a[j], z = a[H + j], n = a[2 * H + j];
    double dn = d.dm[j] * (1 - z) * (1 - n * n);
    double dz = d.dm[j] * (c.hp[j] - n) * z * (1 - z);
    double dr = dn * c.ha[2 * H + j] * r * (1 - r);
    d.dxa[j] = d.dha[j] = dr;
    d.dxa[H + j] = d.dha[H + j] = dz;
    d.dxa[2 * H + j] = dn;
    d.dha[2 * H + j] = dn * r;
    d.dhp[j] = d.dm[j] * z;
  }
}

}  // namespace

extern const Cell kGru;
const Cell kGru{.type = CellType::gru,
                .name = "gru",
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
                .forward = forward,
                .forward2 = nullptr,
                .backward = backward,
                .backward2 = nullptr,
                .ref_forward = ref_forward,
                .ref_backward = ref_backward};

}  // namespace recurrent::rnn
