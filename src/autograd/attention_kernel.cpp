// Scaled dot-product attention, one (batch, head) pair at a time, one block of ≤ 64 query rows at
// a time. Math, masks and what is kept: include/recurrent/autograd/attention.h.
//
// Per (b, h), with Q = q[b, :, h·dh:(h+1)·dh] [Tq, dh], K [Tk, dh], V [Tk, dv], O = out[b, :, h·dv:…]:
//   forward, per row block R (rows i0..i1−1, keys [0, n), n = the last row's causal limit):
//     S = scale·Q_R·Kᵀ + mask        [rows, n]   one GEMM against Kᵀ packed as [dh, Tk]
//     P = softmax_rows(S); lse_i = max_i + log Σ_j e^{S_ij − max_i};  P̃ = P ⊙ M/(1−p)
//     O_R = P̃·V                      [rows, dv]
//   backward (G = ∂O, D_i = Σ_c G_ic O_ic = Σ_j P̃_ij ∂P̃_ij):
//     P = e^{S − lse} recomputed;   ∂P̃ = G_R·Vᵀ   [rows, n]
//     ∂S = P ⊙ (∂P̃ ⊙ M/(1−p) − D)    (softmax backward; Σ_j P_ij ∂P_ij = D_i also with dropout)
//     ∂V += P̃ᵀ·G_R     ∂Q_R += scale·∂S·K     ∂K += scale·∂Sᵀ·Q_R
// Every product is a GEMM with B untransposed (K and V are packed transposed per head), so gemm()
// takes oneDNN's sgemm path: no matmul primitive is created per shape (Tk grows at every
// generation step). Work is split over (b, h) pairs: each writes only its own columns of the
// output and gradients, so the result does not depend on the thread count or schedule.
#include "autograd/attention_kernel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/gemm.h"
#include "recurrent/kernels/softmax.h"

namespace recurrent::attn {

namespace {

constexpr int64_t kRowBlock = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Scratch {
  std::vector<float> kt, vt, s, dp;  // [dh, Tk], [dv, Tk], [kRowBlock, Tk], [kRowBlock, Tk]
};

// dst[c·T + j] = x[b, j, col0 + c]: one head of a sequence operand transposed to [w, T].
void pack_transposed(const Operand& x, int64_t b, int64_t col0, int64_t T, int64_t w, float* dst) {
  for (int64_t j = 0; j < T; ++j) {
    const float* src = x.at(b, j, col0);
    for (int64_t c = 0; c < w; ++c) dst[c * T + j] = src[c];
  }
}

// S[r, j] = scale·q_i·k_j + attn_mask[i, j] for the rows i = i0 + r; −inf where key j is padding or
// beyond row i's causal limit.   S: [rows, n] (leading dim n), kt: [dh, Tk].
void block_scores(const Dims& d, const Operand& q, int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t n,
                  const float* kt, float* S) {
  gemm(Trans::N, Trans::N, rows, n, d.dh, d.scale, q.at(b, i0, h * d.dh), q.rs, kt, d.Tk, 0.0f, S, n);
  const float* kp = d.key_padding ? d.key_padding + b * d.Tk : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = i0 + r, lim = d.visible(i);
    float* s = S + r * n;
    if (d.attn_mask) {
      const float* m = d.attn_mask + i * d.Tk;
      for (int64_t j = 0; j < lim; ++j) s[j] += m[j];
    }
    if (kp)
      for (int64_t j = 0; j < lim; ++j) s[j] = kp[j] != 0.0f ? kNegInf : s[j];
    for (int64_t j = lim; j < n; ++j) s[j] = kNegInf;
  }
}

// Row softmax in place; returns the row's log-Σ-exp (−inf, and a zero row, when all are masked).
float softmax_row(float* s, int64_t n) {
  const float mx = max_array(s, n);
  if (mx == kNegInf) {
    for (int64_t j = 0; j < n; ++j) s[j] = 0.0f;
    return kNegInf;
  }
  const double sum = exp_shift_sum(s, n, mx);
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
  return mx + static_cast<float>(std::log(sum));
}

// Row i's dropout factors, drawn in key order from stream (b·H + h)·Tq + i: M_j/(1−p), j < visible(i).
class DropoutRow {
 public:
  DropoutRow(const Dims& d, int64_t b, int64_t h, int64_t i)
      : rng_(d.seed, static_cast<uint64_t>((b * d.H + h) * d.Tq + i)), p_(d.dropout), keep_(1.0f / (1.0f - d.dropout)) {}
  float next() { return rng_.uniform() >= p_ ? keep_ : 0.0f; }

 private:
  Rng rng_;
  float p_, keep_;
};

void forward_head(const Dims& d, int64_t b, int64_t h, const Operand& q, const Operand& k, const Operand& v,
                  const Operand& out, float* lse, Scratch& sc) {
  sc.kt.resize(static_cast<size_t>(d.dh * d.Tk));
  sc.s.resize(static_cast<size_t>(kRowBlock * d.Tk));
  pack_transposed(k, b, h * d.dh, d.Tk, d.dh, sc.kt.data());
  float* S = sc.s.data();
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, d.Tq - i0), n = d.visible(i0 + rows - 1);
    if (n == 0) {  // no row of this block sees any key
      for (int64_t r = 0; r < rows; ++r) {
        float* o = out.at(b, i0 + r, h * d.dv);
        for (int64_t c = 0; c < d.dv; ++c) o[c] = 0.0f;
        if (lse) lse[(b * d.H + h) * d.Tq + i0 + r] = kNegInf;
      }
      continue;
    }
    block_scores(d, q, b, h, i0, rows, n, sc.kt.data(), S);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r;
      float* s = S + r * n;
      const float l = softmax_row(s, n);
      if (lse) lse[(b * d.H + h) * d.Tq + i] = l;
      if (d.weights) std::copy_n(s, n, d.weights + ((b * d.H + h) * d.Tq + i) * d.Tk);  // keys ≥ n stay 0
      if (d.dropout > 0.0f) {
        DropoutRow m(d, b, h, i);
        for (int64_t j = 0, lim = d.visible(i); j < lim; ++j) s[j] *= m.next();
      }
    }
    gemm(Trans::N, Trans::N, rows, d.dv, n, 1.0f, S, n, v.at(b, 0, h * d.dv), v.rs, 0.0f, out.at(b, i0, h * d.dv),
         out.rs);
  }
}

// On entry S holds P and dp holds ∂P̃ for rows i0..; on exit dp holds ∂S (∂L/∂ of the scaled
// scores; the GEMMs apply the scale) and S holds P̃.   ∂S_ij = P_ij (∂P̃_ij·M_ij/(1−p) − D_i),   D_i = Σ_c G_ic O_ic
void softmax_backward_rows(const Dims& d, int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t n,
                           const Operand& out, const Operand& gout, float* S, float* dp) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = i0 + r, lim = std::min(n, d.visible(i));
    const float *g = gout.at(b, i, h * d.dv), *o = out.at(b, i, h * d.dv);
    double acc = 0.0;
    for (int64_t c = 0; c < d.dv; ++c) acc += static_cast<double>(g[c]) * o[c];
    const float D = static_cast<float>(acc);
    float *p = S + r * n, *dpr = dp + r * n;
    if (d.dropout > 0.0f) {
      DropoutRow m(d, b, h, i);
      for (int64_t j = 0; j < lim; ++j) {
        const float mj = m.next();
        dpr[j] = p[j] * (dpr[j] * mj - D);
        p[j] *= mj;
      }
    } else {
      for (int64_t j = 0; j < lim; ++j) dpr[j] = p[j] * (dpr[j] - D);
    }
    for (int64_t j = lim; j < n; ++j) dpr[j] = 0.0f;  // P is 0 there
  }
}

void backward_head(const Dims& d, int64_t b, int64_t h, const Operand& q, const Operand& k, const Operand& v,
                   const Operand& out, const float* lse, const Operand& gout, const Operand& gq,
                   const Operand& gk, const Operand& gv, Scratch& sc) {
  sc.kt.resize(static_cast<size_t>(d.dh * d.Tk));
  sc.vt.resize(static_cast<size_t>(d.dv * d.Tk));
  sc.s.resize(static_cast<size_t>(kRowBlock * d.Tk));
  sc.dp.resize(static_cast<size_t>(kRowBlock * d.Tk));
  pack_transposed(k, b, h * d.dh, d.Tk, d.dh, sc.kt.data());
  pack_transposed(v, b, h * d.dv, d.Tk, d.dv, sc.vt.data());
  float *S = sc.s.data(), *dP = sc.dp.data();
  for (int64_t i0 = 0; i0 < d.Tq; i0 += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, d.Tq - i0), n = d.visible(i0 + rows - 1);
    if (n == 0) continue;
    block_scores(d, q, b, h, i0, rows, n, sc.kt.data(), S);
    for (int64_t r = 0; r < rows; ++r) {  // P = e^{S − lse}
      const float l = lse[(b * d.H + h) * d.Tq + i0 + r];
      float* s = S + r * n;
      if (l == kNegInf)
        for (int64_t j = 0; j < n; ++j) s[j] = 0.0f;
      else
        exp_shift_sum(s, n, l);
    }
    const float* G = gout.at(b, i0, h * d.dv);
    gemm(Trans::N, Trans::N, rows, n, d.dv, 1.0f, G, gout.rs, sc.vt.data(), d.Tk, 0.0f, dP, n);  // ∂P̃ = G·Vᵀ
    softmax_backward_rows(d, b, h, i0, rows, n, out, gout, S, dP);
    if (gv.p)  // ∂V[:n] += P̃ᵀ·G
      gemm(Trans::T, Trans::N, n, d.dv, rows, 1.0f, S, n, G, gout.rs, 1.0f, gv.at(b, 0, h * d.dv), gv.rs);
    if (gq.p)  // ∂Q_R += scale·∂S·K[:n]
      gemm(Trans::N, Trans::N, rows, d.dh, n, d.scale, dP, n, k.at(b, 0, h * d.dh), k.rs, 1.0f,
           gq.at(b, i0, h * d.dh), gq.rs);
    if (gk.p)  // ∂K[:n] += scale·∂Sᵀ·Q_R
      gemm(Trans::T, Trans::N, n, d.dh, rows, d.scale, dP, n, q.at(b, i0, h * d.dh), q.rs, 1.0f,
           gk.at(b, 0, h * d.dh), gk.rs);
  }
}

// f(b, h, scratch) for every pair, in parallel over pairs (one scratch per thread). GEMMs inside a
// parallel region run single-threaded (oneDNN does not nest); with one pair, they get all threads.
template <typename F>
void for_heads(const Dims& d, F&& f) {
  const int64_t tasks = d.B * d.H;
  num_threads();  // configure OpenMP before entering the region (not from inside it)
#pragma omp parallel if (tasks > 1)
  {
    Scratch sc;
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) f(t / d.H, t % d.H, sc);
  }
}

}  // namespace

void run_forward(const Dims& d, Operand q, Operand k, Operand v, Operand out, float* lse) {
  for_heads(d, [&](int64_t b, int64_t h, Scratch& sc) { forward_head(d, b, h, q, k, v, out, lse, sc); });
}

void run_backward(const Dims& d, Operand q, Operand k, Operand v, Operand out, const float* lse, Operand gout,
                  Operand gq, Operand gk, Operand gv) {
  for_heads(d, [&](int64_t b, int64_t h, Scratch& sc) {
    backward_head(d, b, h, q, k, v, out, lse, gout, gq, gk, gv, sc);
  });
}

}  // namespace recurrent::attn
