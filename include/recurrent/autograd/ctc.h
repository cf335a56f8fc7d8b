// recurrent/autograd/ctc.h — Connectionist Temporal Classification loss (Graves et al. 2006) as an op.
//
// CTC scores a label sequence y = (y_1 … y_L) against per-frame class scores without an alignment:
//   p(y | x) = Σ_{π ∈ B⁻¹(y)} Π_t p_t(π_t),
// where π runs over frame paths of length T_b and B collapses repeats, then drops blanks
// ("aa-ab" → "aab"). The loss is ℓ_b = −log p(y_b | x_b), computed by the forward–backward
// recursion over the extended label l' = (blank, y_1, blank, y_2, …, y_L, blank) (S = 2L + 1 states)
// in log space, in double. docs/ctc.md has the recursion, the verification against torch and timings.
//
// Two entry points, one recursion:
//  * ctc_loss(log_probs, …)  — PyTorch's contract (torch.nn.functional.ctc_loss): log_probs [T, B, C]
//    are per-frame log-probabilities (normalised: the output of log_softmax). The gradient is
//    PyTorch's, bit for bit in formula:
//        ∂ℓ_b/∂lp[t,b,c] = e^{lp[t,b,c]} − γ_t(c),   γ_t(c) = Σ_{s: l'_s = c} α_t(s) β_t(s) / (p(y|x) p_t(c)),
//    which is the gradient with respect to the LOGITS behind log_softmax (the e^{lp} term is what
//    log_softmax's backward removes again, since Σ_c γ_t(c) = 1), not the partial derivative with
//    respect to unnormalised log_probs (that would be −γ). Use it after log_softmax, as in PyTorch.
//  * ctc_loss_logits(logits, …) — the same loss with log_softmax fused (computed in double): the
//    gradient e^{lp} − γ = softmax − γ is then the exact gradient w.r.t. the logits. Preferred for
//    training: one op, no [T, B, C] log_softmax value or backward.
//
// Targets: concatenated (Σ target_lengths labels, item after item) when opt.padded_width == 0, or
// padded [B, padded_width] row-major (labels past each target length ignored). Labels are in [0, C)
// and never the blank.
// Lengths: input_lengths[b] ∈ [0, T] frames of item b are used (frames past it get zero gradient);
// target_lengths[b] ≥ 0.
// Infeasible items (T_b < L_b + number of adjacent repeats in y_b — a repeat needs a blank between):
//   ℓ_b = +inf and, as in PyTorch, a NaN gradient on the item's frames; with zero_infinity the item's
//   loss and gradient are 0. T_b = 0: ℓ_b = 0 for an empty target, else +inf (torch 1.13 returns
//   garbage there; later versions do this).
// Reduction (PyTorch's): none → [B]; sum → Σ_b ℓ_b; mean → (1/B) Σ_b ℓ_b / max(L_b, 1).
// Parallel over the batch (OpenMP, one item per task): results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent/autograd/ops.h"  // Reduction
#include "recurrent/autograd/var.h"

namespace recurrent {

struct CtcOptions {
  int64_t blank = 0;
  Reduction reduction = Reduction::mean;
  bool zero_infinity = false;
  int64_t padded_width = 0;  // 0: targets concatenated; > 0: targets [B, padded_width] padded
};

// log_probs [T, B, C] -> [] (mean, sum) or [B] (none).
Var ctc_loss(const Var& log_probs, const std::vector<int64_t>& targets, const std::vector<int64_t>& input_lengths,
             const std::vector<int64_t>& target_lengths, const CtcOptions& opt = {});

// logits [T, B, C] -> as ctc_loss(log_softmax(logits), …), gradient softmax − γ w.r.t. the logits.
Var ctc_loss_logits(const Var& logits, const std::vector<int64_t>& targets, const std::vector<int64_t>& input_lengths,
                    const std::vector<int64_t>& target_lengths, const CtcOptions& opt = {});

}  // namespace recurrent
