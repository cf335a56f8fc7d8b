// recurrent/optim/clip.h — gradient clipping and finiteness checks over a parameter list.
//
// Parameters without a gradient are skipped (as PyTorch skips p.grad is None).
//   grad_norm       sqrt(sum over all grads of g^2), accumulated in double (no overflow for any
//                   finite float gradient: FLT_MAX^2 ~ 1e77 << DBL_MAX).
//   clip_grad_norm  norm = grad_norm(); if max_norm / (norm + 1e-6) < 1 every gradient is scaled by
//                   that coefficient (torch.nn.utils.clip_grad_norm_); returns the norm BEFORE
//                   clipping. Deliberate difference: a non-finite norm (NaN/Inf) is returned and the
//                   gradients are left untouched (PyTorch would scale them by 0 or NaN), so the
//                   caller can skip the step: `if (!std::isfinite(clip_grad_norm(ps, 1))) skip`.
//   clip_grad_norm(params, max_norm, norm)  the same with the norm already known (a data-parallel job
//                   sums it over the ranks from each one's part: train/dist.h global_grad_norm).
//   clip_grad_value g = clamp(g, -clip, clip); NaN stays NaN (torch clamp_).
//   all_finite      true when no gradient element is NaN or +-Inf.
#pragma once

#include <vector>

#include "recurrent/autograd/var.h"

namespace recurrent {

double grad_norm(const std::vector<Var>& params);
float clip_grad_norm(const std::vector<Var>& params, double max_norm);
float clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm);
void clip_grad_value(const std::vector<Var>& params, float clip);
bool all_finite(const std::vector<Var>& params);

}  // namespace recurrent
