// CTC loss (Graves et al. 2006, "Connectionist Temporal Classification", §4) by the forward–backward
// recursion in log space; contract and conventions in include/recurrent/autograd/ctc.h.
//
// Per item b (T_b frames, labels y_1..y_L, extended label l' of S = 2L + 1 states, l'_{2k} = blank,
// l'_{2k+1} = y_{k+1}; lp_t(c) the log-probabilities of frame t; everything in double):
//   α_0(0) = lp_0(blank), α_0(1) = lp_0(y_1), α_0(s ≥ 2) = −inf
//   α_t(s) = lp_t(l'_s) + lse(α_{t−1}(s), α_{t−1}(s−1), [l'_s ≠ blank ∧ l'_s ≠ l'_{s−2}] α_{t−1}(s−2))
//   ℓ_b    = −lse(α_{T_b−1}(S−1), α_{T_b−1}(S−2))
//   β (PyTorch's form, emission of frame t included, so α_t(s) + β_t(s) counts lp_t(l'_s) twice):
//   β_{T_b−1}(S−1) = lp(blank), β_{T_b−1}(S−2) = lp(y_L)
//   β_t(s) = lp_t(l'_s) + lse(β_{t+1}(s), β_{t+1}(s+1), [l'_s ≠ blank ∧ l'_s ≠ l'_{s+2}] β_{t+1}(s+2))
//   ∂ℓ_b/∂lp_t(c) = e^{lp_t(c)} − exp(lse_{s: l'_s = c}(α_t(s) + β_t(s)) + ℓ_b − lp_t(c))   (PyTorch's,
//   LossCTC.cpp; the first term makes it the gradient w.r.t. the logits behind log_softmax, ctc.h).
// The skip α_{t−1}(s−2) is what forces a blank between repeated labels: "aa" needs "a-a".
//
// The gradient is computed in the forward pass when a tape is recorded (α and β are at hand then; the
// backward pass only scales it): kept as G [T, B, C] float32, ∂ℓ_b/∂lp for frames t < T_b, 0 beyond.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "recurrent/autograd/ctc.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b [+ e^c]) without overflow; −inf when all are −inf. The largest term is factored out
// (its exp is 1), so lse(a, b) costs one exp and one log1p, lse(a, b, c) two exps and one log.
inline double lse(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b == kNegInf) return a;
  return a + std::log1p(std::exp(b - a));
}
inline double lse(double a, double b, double c) {
  if (a < b) std::swap(a, b);
  if (a < c) std::swap(a, c);  // a is the largest
  if (a == kNegInf) return kNegInf;
  return a + std::log(1.0 + std::exp(b - a) + std::exp(c - a));
}

// The checked batch: shapes, lengths, and where each item's labels start in `targets`.
struct CtcBatch {
  int64_t T = 0, B = 0, C = 0;
  std::vector<int64_t> offset;  // [B] index of item b's first label in targets
};

CtcBatch check_batch(const Tensor& x, const std::vector<int64_t>& targets, const std::vector<int64_t>& in_len,
                     const std::vector<int64_t>& tgt_len, const CtcOptions& opt, const char* where) {
  RC_CHECK(x.dim() == 3, where, "expected log-probabilities [T, B, C], got ", shape_str(x.shape()));
  CtcBatch cb{x.size(0), x.size(1), x.size(2), {}};
  RC_CHECK(cb.C >= 1, where, "expected at least one class (the blank), got C = 0");
  RC_CHECK(opt.blank >= 0 && opt.blank < cb.C, where, "blank index ", opt.blank, " is out of range for ", cb.C,
           " classes");
  RC_CHECK(static_cast<int64_t>(in_len.size()) == cb.B, where, "got ", in_len.size(),
           " input lengths for a batch of ", cb.B);
  RC_CHECK(static_cast<int64_t>(tgt_len.size()) == cb.B, where, "got ", tgt_len.size(),
           " target lengths for a batch of ", cb.B);
  RC_CHECK(opt.padded_width >= 0, where, "padded_width must be >= 0, got ", opt.padded_width);
  int64_t total = 0;
  for (int64_t b = 0; b < cb.B; ++b) {
    RC_CHECK(in_len[b] >= 0 && in_len[b] <= cb.T, where, "input length ", in_len[b], " of item ", b,
             " is outside [0, T = ", cb.T, "]");
    RC_CHECK(tgt_len[b] >= 0, where, "target length ", tgt_len[b], " of item ", b, " is negative");
    RC_CHECK(opt.padded_width == 0 || tgt_len[b] <= opt.padded_width, where, "target length ", tgt_len[b],
             " of item ", b, " exceeds the padded width ", opt.padded_width);
    cb.offset.push_back(opt.padded_width ? b * opt.padded_width : total);
    total += tgt_len[b];
  }
  const int64_t expected = opt.padded_width ? cb.B * opt.padded_width : total;
  RC_CHECK(static_cast<int64_t>(targets.size()) == expected, where, "got ", targets.size(), " targets, expected ",
           expected, opt.padded_width ? " (B x padded_width)" : " (the sum of the target lengths)");
  for (int64_t b = 0; b < cb.B; ++b)
    for (int64_t k = 0; k < tgt_len[b]; ++k) {
      const int64_t y = targets[cb.offset[b] + k];
      RC_CHECK(y >= 0 && y < cb.C && y != opt.blank, where, "label ", y, " at position ", k, " of item ", b,
               " is not a class in [0, ", cb.C, ") other than the blank ", opt.blank);
    }
  return cb;
}

// Per-thread buffers for one item (grown, never shrunk).
struct Scratch {
  std::vector<double> lp, p, alpha, beta, gamma;
};

// −log p(y | x) for one item from lp [Tb, C] (double, row t at lp + t·C). When grad is non-null, also
// writes ∂ℓ/∂lp into grad [Tb rows of stride `gstride`, C]. Returns +inf when y is infeasible.
double ctc_item(const double* lp, int64_t Tb, int64_t C, const int64_t* y, int64_t L, int64_t blank, Scratch& w,
                float* grad, int64_t gstride) {
  if (Tb == 0) return L == 0 ? 0.0 : kInf;
  const int64_t S = 2 * L + 1;
  auto lab = [&](int64_t s) { return (s & 1) ? y[s >> 1] : blank; };
  // skip(s): the transition s−2 → s is allowed (a label differing from the previous label)
  auto skip = [&](int64_t s) { return (s & 1) && s >= 2 && y[s >> 1] != y[(s >> 1) - 1]; };
  w.alpha.assign(static_cast<size_t>(Tb * S), kNegInf);
  double* a = w.alpha.data();
  a[0] = lp[blank];
  if (S > 1) a[1] = lp[lab(1)];
  for (int64_t t = 1; t < Tb; ++t) {  // α_t from α_{t−1}
    const double* ap = a + (t - 1) * S;
    double* at = a + t * S;
    const double* lpt = lp + t * C;
    for (int64_t s = 0; s < S; ++s) {
      const double m = skip(s) ? lse(ap[s], ap[s - 1], ap[s - 2]) : (s ? lse(ap[s], ap[s - 1]) : ap[s]);
      at[s] = m == kNegInf ? kNegInf : m + lpt[lab(s)];
    }
  }
  const double* alast = a + (Tb - 1) * S;
  const double nll = -(S > 1 ? lse(alast[S - 1], alast[S - 2]) : alast[0]);
  if (!grad) return nll;
  if (nll == kInf) {  // torch: exp(−inf + inf − lp) = NaN for every class of every frame of the item
    for (int64_t t = 0; t < Tb; ++t) std::fill_n(grad + t * gstride, C, std::numeric_limits<float>::quiet_NaN());
    return nll;
  }

  w.beta.assign(static_cast<size_t>(Tb * S), kNegInf);
  double* be = w.beta.data();
  const double* lpl = lp + (Tb - 1) * C;
  be[(Tb - 1) * S + S - 1] = lpl[blank];
  if (S > 1) be[(Tb - 1) * S + S - 2] = lpl[lab(S - 2)];
  for (int64_t t = Tb - 2; t >= 0; --t) {  // β_t from β_{t+1}
    const double* bn = be + (t + 1) * S;
    double* bt = be + t * S;
    const double* lpt = lp + t * C;
    for (int64_t s = 0; s < S; ++s) {
      const double m = (s + 2 < S && skip(s + 2)) ? lse(bn[s], bn[s + 1], bn[s + 2])
                                                  : (s + 1 < S ? lse(bn[s], bn[s + 1]) : bn[s]);
      bt[s] = m == kNegInf ? kNegInf : m + lpt[lab(s)];
    }
  }
  // γ_t(c) = Σ_{s: l'_s = c} exp(α_t(s) + β_t(s) − lp_t(l'_s) + ℓ): PyTorch's exp(lcab + nll − lp) with
  // the sum taken after the exp (each term is a probability ≤ 1).
  w.gamma.resize(static_cast<size_t>(C));
  for (int64_t t = 0; t < Tb; ++t) {
    const double* lpt = lp + t * C;
    const double* pt = w.p.data() + t * C;
    std::fill(w.gamma.begin(), w.gamma.end(), 0.0);
    for (int64_t s = 0; s < S; ++s) {
      const double v = a[t * S + s] + be[t * S + s];
      if (v != kNegInf) w.gamma[lab(s)] += std::exp(v - lpt[lab(s)] + nll);
    }
    float* g = grad + t * gstride;
    for (int64_t c = 0; c < C; ++c) g[c] = static_cast<float>(pt[c] - w.gamma[c]);
  }
  return nll;
}

// Item b's frames as doubles: lp (the log-probabilities as given, or log_softmax of the logits) and,
// when a gradient is wanted, p = e^{lp} (for logits the softmax, from the exps log_softmax needs anyway).
void load_item(const float* x, const CtcBatch& cb, int64_t b, int64_t Tb, bool logits, bool probs, Scratch& w) {
  w.lp.resize(static_cast<size_t>(Tb * cb.C));
  if (probs) w.p.resize(static_cast<size_t>(Tb * cb.C));
  for (int64_t t = 0; t < Tb; ++t) {
    const float* row = x + (t * cb.B + b) * cb.C;
    double* o = w.lp.data() + t * cb.C;
    double* p = probs ? w.p.data() + t * cb.C : nullptr;
    if (!logits) {
      for (int64_t c = 0; c < cb.C; ++c) o[c] = row[c];
      if (p)
        for (int64_t c = 0; c < cb.C; ++c) p[c] = std::exp(o[c]);
      continue;
    }
    const double mx = *std::max_element(row, row + cb.C);  // lp = x − max − log Σ e^{x − max}
    double s = 0.0;
    for (int64_t c = 0; c < cb.C; ++c) {
      const double e = std::exp(row[c] - mx);
      if (p) p[c] = e;
      s += e;
    }
    const double shift = mx + std::log(s), inv = 1.0 / s;
    for (int64_t c = 0; c < cb.C; ++c) o[c] = row[c] - shift;
    if (p)
      for (int64_t c = 0; c < cb.C; ++c) p[c] *= inv;
  }
}

Var ctc_common(const Var& input, const std::vector<int64_t>& targets, const std::vector<int64_t>& in_len,
               const std::vector<int64_t>& tgt_len, const CtcOptions& opt, bool logits, const char* where) {
  Tensor xv = input.value().contiguous();
  const CtcBatch cb = check_batch(xv, targets, in_len, tgt_len, opt, where);
  const bool taped = grad_enabled() && input.requires_grad();
  Tensor G = taped ? Tensor(xv.shape()) : Tensor();  // ∂ℓ_b/∂input, zeros past each input length
  std::vector<double> loss(static_cast<size_t>(cb.B));
  const float* x = xv.data();
  const int64_t work = cb.T * cb.B * (cb.C + 4);
#pragma omp parallel for schedule(dynamic, 1) if (cb.B > 1 && work >= (1 << 14))
  for (int64_t b = 0; b < cb.B; ++b) {
    thread_local Scratch w;
    load_item(x, cb, b, in_len[b], logits, taped, w);
    float* g = taped ? G.data() + b * cb.C : nullptr;
    double l = ctc_item(w.lp.data(), in_len[b], cb.C, targets.data() + cb.offset[b], tgt_len[b], opt.blank, w, g,
                        cb.B * cb.C);
    if (opt.zero_infinity && l == kInf) {
      l = 0.0;
      if (g)
        for (int64_t t = 0; t < in_len[b]; ++t) std::fill_n(g + t * cb.B * cb.C, cb.C, 0.0f);
    }
    loss[b] = l;
  }
  // ∂out/∂ℓ_b: 1 (none, per item; sum), 1 / (B · max(L_b, 1)) (mean)
  std::vector<double> k(static_cast<size_t>(cb.B), 1.0);
  if (opt.reduction == Reduction::mean)
    for (int64_t b = 0; b < cb.B; ++b) k[b] = 1.0 / (static_cast<double>(cb.B) * std::max<int64_t>(tgt_len[b], 1));
  Tensor out;
  if (opt.reduction == Reduction::none) {
    out = Tensor({cb.B});
    for (int64_t b = 0; b < cb.B; ++b) out.data()[b] = static_cast<float>(loss[b]);
  } else {
    double s = 0.0;
    for (int64_t b = 0; b < cb.B; ++b) s += k[b] * loss[b];
    out = Tensor::scalar(static_cast<float>(s));
  }
  const bool none = opt.reduction == Reduction::none;
  return make_op(where, out, {input}, [G, k, none, B = cb.B, C = cb.C](Node& o) {
    float* gi = grad_buffer(*o.inputs[0]).data();
    const float* gG = G.data();
    const int64_t rows = G.size(0);
    for (int64_t b = 0; b < B; ++b) {
      const float s = static_cast<float>(k[b] * (none ? o.grad.data()[b] : o.grad.data()[0]));
      for (int64_t t = 0; t < rows; ++t) {
        const int64_t off = (t * B + b) * C;
        for (int64_t c = 0; c < C; ++c) gi[off + c] += s * gG[off + c];
      }
    }
  });
}

}  // namespace

Var ctc_loss(const Var& log_probs, const std::vector<int64_t>& targets, const std::vector<int64_t>& input_lengths,
             const std::vector<int64_t>& target_lengths, const CtcOptions& opt) {
  return ctc_common(log_probs, targets, input_lengths, target_lengths, opt, false, "ctc_loss");
}

Var ctc_loss_logits(const Var& logits, const std::vector<int64_t>& targets, const std::vector<int64_t>& input_lengths,
                    const std::vector<int64_t>& target_lengths, const CtcOptions& opt) {
  return ctc_common(logits, targets, input_lengths, target_lengths, opt, true, "ctc_loss_logits");
}

}  // namespace recurrent
