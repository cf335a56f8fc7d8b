// GRU of Cho et al. 2014 (reset before the matmul; gates r, z, n), in two phases around the n gate's
// product W_hn (r ⊙ h_prev). The Cell contract: nn/cell.h.
//   phase 1: r = σ(a_r)  z = σ(a_z)  rh = r ⊙ h_prev       (a_[r,z] = W_i[r,z] x + W_h[r,z] h_prev + biases)
//   phase 2: n = tanh(a_n)  (a_n = W_in x + b_in + b_hn + W_hn rh)    h = (1-z) ⊙ n + z ⊙ h_prev
// h_gates = 2: only W_h[r,z] multiplies h_prev; the tape keeps rh (Extra::in_step: phase 2's operand,
// and what dW_hn sees). SIMD twin: src/kernels/simd/cells/gru_cho-inl.h.
#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

// ---- float rows: the scalar reference (a [3H], bias [3H] or null, hp / rh / h [n]) ----

void gates_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* rh) {
  float *ar = a, *az = a + H;
  for (int64_t j = 0; j < n; ++j) {
    float xr = ar[j], xz = az[j];
    if (bias) xr += bias[j], xz += bias[H + j];
    ar[j] = sigmoid_scalar(xr);
    az[j] = sigmoid_scalar(xz);
    rh[j] = ar[j] * hp[j];
  }
}

void state_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const float* az = a + H;
  float* an = a + 2 * H;
  for (int64_t j = 0; j < n; ++j) {
    float xn = an[j];
    if (bias) xn += bias[2 * H + j];
    float nv = tanh_scalar(xn);
    an[j] = nv;
    h[j] = (1.0f - az[j]) * nv + az[j] * hp[j];
  }
}

// Phase 1: dn_ = dh ⊙ (1-z)(1-n²)   dz_ = dh ⊙ (h_prev - n) z(1-z)   dhp = dh ⊙ z
void backward_nz_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da, float* dp) {
  for (int64_t j = 0; j < n; ++j) {
    float z = a[H + j], nv = a[2 * H + j];
    da[H + j] = dh[j] * (hp[j] - nv) * z * (1.0f - z);
    da[2 * H + j] = dh[j] * (1.0f - z) * (1.0f - nv * nv);
    dp[j] = dh[j] * z;
  }
}

// Phase 2 (drh = da_n W_hn known): dr_ = drh ⊙ h_prev ⊙ r(1-r);  dhp += drh ⊙ r
void backward_r_row(int64_t n, const float* a, const float* hp, const float* drh, float* da, float* dp) {
  for (int64_t j = 0; j < n; ++j) {
    float r = a[j], g = drh[j];
    da[j] = g * hp[j] * r * (1.0f - r);
    dp[j] += g * r;
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->gru_cho_gates_row(o.n, o.H, o.a, o.bias, o.hp, o.ex);
    } else {
      gates_row(o.n, o.H, o.a, o.bias, o.hp, o.ex);
    }
  }
}

void forward2(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->gru_cho_state_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    } else {
      state_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    }
  }
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->gru_cho_backward_nz_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
  backward_nz_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
}

void backward2(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->gru_cho_backward_r_row(r.n, r.a, r.hp, r.dex, r.da, r.dhp);
  backward_r_row(r.n, r.a, r.hp, r.dex, r.da, r.dhp);
}

// ---- double reference (ha rows [0, 2H) = W_h[r,z] h_prev + b_h[r,z] from the driver) ----

void ref_forward(const DirShape& s, const DirParams& p, RefStep& c) {
  const int64_t H = s.H;
  c.ex.assign(H, 0.0);
  for (int64_t j = 0; j < H; ++j) {
    c.gate[j] = ref_sigmoid(c.xa[j] + c.ha[j]);
    c.gate[H + j] = ref_sigmoid(c.xa[H + j] + c.ha[H + j]);
    c.ex[j] = c.gate[j] * c.hp[j];
  }
  ref_affine(p.w_hh, p.b_hh, c.ex.data(), H, 2 * H, 3 * H, c.ha.data());  // rows 2H..3H see r ⊙ h
  for (int64_t j = 0; j < H; ++j) {
    double z = c.gate[H + j], n = std::tanh(c.xa[2 * H + j] + c.ha[2 * H + j]);
    c.gate[2 * H + j] = n;
    c.m[j] = (1 - z) * n + z * c.hp[j];
  }
}

void ref_backward(const DirShape& s, const DirParams& p, const RefStep& c, RefBack& d, RefGrads& gr) {
  const int64_t H = s.H;
  const auto& a = c.gate;
  std::vector<double> drh(H, 0.0);
  for (int64_t j = 0; j < H; ++j) {
    double z = a[H + j], n = a[2 * H + j];
    d.dxa[2 * H + j] = d.dha[2 * H + j] = d.dm[j] * (1 - z) * (1 - n * n);
    d.dxa[H + j] = d.dha[H + j] = d.dm[j] * (c.hp[j] - n) * z * (1 - z);
    d.dhp[j] = d.dm[j] * z;
  }
  for (int64_t g = 2 * H; g < 3 * H; ++g)  // d(r⊙h) = W_hnᵀ dn; dW_hn += dn ⊗ (r⊙h)
    for (int64_t k = 0; k < H; ++k) {
      drh[k] += p.w_hh[g * H + k] * d.dha[g];
      gr.w_hh[g * H + k] += d.dha[g] * c.ex[k];
    }
  for (int64_t j = 0; j < H; ++j) {
    double r = a[j];
    d.dxa[j] = d.dha[j] = drh[j] * c.hp[j] * r * (1 - r);
    d.dhp[j] += drh[j] * r;
  }
}

}  // namespace

extern const Cell kGruCho;
const Cell kGruCho{.type = CellType::gru_cho,
                   .name = "gru_cho",
                   .gates = 3,
                   .gate_names = {"r", "z", "n"},
                   .gate_acts = {Act::sigmoid, Act::sigmoid, Act::tanh},
                   .cell_state = false,
                   .peephole = false,
                   .projection = false,
                   .h_gates = 2,
                   .h_apart = -1,
                   .extra = Extra::in_step,
                   .step_simd = false,
                   .forward = forward,
                   .forward2 = forward2,
                   .backward = backward,
                   .backward2 = backward2,
                   .ref_forward = ref_forward,
                   .ref_backward = ref_backward};

}  // namespace recurrent::rnn
