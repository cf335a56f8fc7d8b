// minGRU (Feng et al. 2024, "Were RNNs All We Needed?"), the log-space version's model; a scan cell (no W_hh:
// rnn_scan.cpp runs it). The Cell contract: nn/cell.h. Gates z, h̃ (G = 2), both from x alone:
//   z = σ(a_z)   h̃ = g(a_h)   h = (1-z) ⊙ h_prev + z ⊙ h̃      (a = W_ih x + b_ih)
//   g(x) = x + ½ for x ≥ 0, σ(x) for x < 0 (positive, so the paper's log-space scan can take log h̃)
// The scan here runs the recurrence as it stands (linear space, sequential over t, vectorised over units):
// the same h_t as the paper's parallel log-space scan, without its exp/log, and h_0 of any sign.
// SIMD twin: src/kernels/simd/cells/mingru-inl.h.
#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

float g_scalar(float x) { return x >= 0.0f ? x + 0.5f : sigmoid_scalar(x); }
float g_grad(float y) { return y >= 0.5f ? 1.0f : y * (1.0f - y); }  // g'(x) from y = g(x)

// ---- float rows: the scalar reference (a [2H], bias [2H] or null, hp / h [n]) ----

void forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  float *az = a, *ah = a + H;
  for (int64_t j = 0; j < n; ++j) {
    float xz = az[j], xh = ah[j];
    if (bias) xz += bias[j], xh += bias[H + j];
    const float z = sigmoid_scalar(xz), c = g_scalar(xh);
    az[j] = z, ah[j] = c;
    h[j] = std::fma(z, c - hp[j], hp[j]);
  }
}

// da_z = dh (h̃ - h_prev) z(1-z)   da_h = dh z g'(a_h)   dhp = dh (1-z)
void backward_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da, float* dp) {
  for (int64_t j = 0; j < n; ++j) {
    const float z = a[j], c = a[H + j];
    da[j] = dh[j] * (c - hp[j]) * (z * (1.0f - z));
    da[H + j] = dh[j] * z * g_grad(c);
    dp[j] = dh[j] * (1.0f - z);
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->mingru_forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    } else {
      forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    }
  }
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->mingru_backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
  backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
}

// ---- double reference (xa = W_ih x + b_ih; no h side) ----

double g_ref(double x) { return x >= 0.0 ? x + 0.5 : ref_sigmoid(x); }

void ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double z = ref_sigmoid(c.xa[j]), ht = g_ref(c.xa[H + j]);
    c.gate[j] = z, c.gate[H + j] = ht;
    c.m[j] = (1 - z) * c.hp[j] + z * ht;
  }
}

void ref_backward(const DirShape& s, const DirParams&, const RefStep& c, RefBack& d, RefGrads&) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double z = c.gate[j], ht = c.gate[H + j], x = c.xa[H + j];
    const double gp = x >= 0.0 ? 1.0 : ht * (1 - ht);
    d.dxa[j] = d.dm[j] * (ht - c.hp[j]) * z * (1 - z);
    d.dxa[H + j] = d.dm[j] * z * gp;
    d.dhp[j] = d.dm[j] * (1 - z);
  }
}

}  // namespace

extern const Cell kMinGru;
const Cell kMinGru{.type = CellType::mingru,
                   .name = "mingru",
                   .gates = 2,
                   .gate_names = {"z", "h"},
                   .gate_acts = {Act::sigmoid, Act::linear},
                   .cell_state = false,
                   .peephole = false,
                   .projection = false,
                   .h_gates = 0,
                   .h_apart = -1,
                   .extra = Extra::none,
                   .step_simd = true,
                   .scan = true,
                   .decay = false,
                   .forward = forward,
                   .forward2 = nullptr,
                   .backward = backward,
                   .backward2 = nullptr,
                   .ref_forward = ref_forward,
                   .ref_backward = ref_backward};

}  // namespace recurrent::rnn
