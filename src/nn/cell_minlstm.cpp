// minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"), the log-space version's model with the
// length-independent scaling; a scan cell (no W_hh: rnn_scan.cpp runs it). The Cell contract: nn/cell.h.
// Gates f, i, h̃ (G = 3), all from x alone:
//   f = σ(a_f)   i = σ(a_i)   h̃ = g(a_h)   f' = f/(f+i)   i' = i/(f+i)   h = f' ⊙ h_prev + i' ⊙ h̃
//   g as minGRU's (cell_mingru.cpp). The paper's log-space scan takes log f' = -softplus(softplus(-a_f) -
//   softplus(-a_i)): the same f'; the scan here runs the recurrence in linear space, sequentially over t.
// SIMD twin: src/kernels/simd/cells/minlstm-inl.h.
#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::rnn {
namespace {

float g_scalar(float x) { return x >= 0.0f ? x + 0.5f : sigmoid_scalar(x); }
float g_grad(float y) { return y >= 0.5f ? 1.0f : y * (1.0f - y); }

// ---- float rows: the scalar reference (a [3H], bias [3H] or null, hp / h [n]) ----

void forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  for (int64_t j = 0; j < n; ++j) {
    float xf = a[j], xi = a[H + j], xh = a[2 * H + j];
    if (bias) xf += bias[j], xi += bias[H + j], xh += bias[2 * H + j];
    const float f = sigmoid_scalar(xf), i = sigmoid_scalar(xi), c = g_scalar(xh);
    a[j] = f, a[H + j] = i, a[2 * H + j] = c;
    h[j] = std::fma(f, hp[j], i * c) / (f + i);
  }
}

// q = dh (h_prev - h̃) f' i':  da_f = q (1-f)   da_i = -q (1-i)   da_h = dh i' g'(a_h)   dhp = dh f'
void backward_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da, float* dp) {
  for (int64_t j = 0; j < n; ++j) {
    const float f = a[j], i = a[H + j], c = a[2 * H + j];
    const float inv = 1.0f / (f + i), fp = f * inv, ip = i * inv;
    const float q = dh[j] * (hp[j] - c) * (fp * ip);
    da[j] = q * (1.0f - f);
    da[H + j] = -(q * (1.0f - i));
    da[2 * H + j] = dh[j] * ip * g_grad(c);
    dp[j] = dh[j] * fp;
  }
}

void forward(const simd::RnnKernels* k, const FwdRows& r) {
  for (int64_t b = 0; b < r.M; ++b) {
    const FwdRows o = r.row(b);
    if (k) {
      k->minlstm_forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    } else {
      forward_row(o.n, o.H, o.a, o.bias, o.hp, o.h);
    }
  }
}

void backward(const simd::RnnKernels* k, const BwdRow& r) {
  if (k) return k->minlstm_backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
  backward_row(r.n, r.H, r.a, r.hp, r.dh, r.da, r.dhp);
}

// ---- double reference (xa = W_ih x + b_ih; no h side) ----

double g_ref(double x) { return x >= 0.0 ? x + 0.5 : ref_sigmoid(x); }

void ref_forward(const DirShape& s, const DirParams&, RefStep& c) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double f = ref_sigmoid(c.xa[j]), i = ref_sigmoid(c.xa[H + j]), ht = g_ref(c.xa[2 * H + j]);
    c.gate[j] = f, c.gate[H + j] = i, c.gate[2 * H + j] = ht;
    c.m[j] = (f * c.hp[j] + i * ht) / (f + i);
  }
}

// Through f' = f/(f+i), i' = i/(f+i): ∂f'/∂f = i/(f+i)², ∂f'/∂i = -f/(f+i)², ∂i'/∂· the negatives.
void ref_backward(const DirShape& s, const DirParams&, const RefStep& c, RefBack& d, RefGrads&) {
  const int64_t H = s.H;
  for (int64_t j = 0; j < H; ++j) {
    const double f = c.gate[j], i = c.gate[H + j], ht = c.gate[2 * H + j], x = c.xa[2 * H + j];
    const double sum = f + i, fp = f / sum, ip = i / sum, dh = d.dm[j];
    const double dfp = dh * c.hp[j], dip = dh * ht;
    const double df = (dfp - dip) * i / (sum * sum), di = (dip - dfp) * f / (sum * sum);
    d.dxa[j] = df * f * (1 - f);
    d.dxa[H + j] = di * i * (1 - i);
    d.dxa[2 * H + j] = dh * ip * (x >= 0.0 ? 1.0 : ht * (1 - ht));
    d.dhp[j] = dh * fp;
  }
}

}  // namespace

extern const Cell kMinLstm;
const Cell kMinLstm{.type = CellType::minlstm,
                    .name = "minlstm",
                    .gates = 3,
                    .gate_names = {"f", "i", "h"},
                    .gate_acts = {Act::sigmoid, Act::sigmoid, Act::linear},
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
