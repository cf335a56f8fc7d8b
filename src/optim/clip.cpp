// Gradient clipping and finiteness checks. Contract in include/recurrent/optim/clip.h.
#include "recurrent/optim/clip.h"

#include <cmath>
#include <limits>

#include "recurrent/core/error.h"
#include "recurrent/kernels/reduce.h"

namespace recurrent {

namespace {
// Calls fn(data, n) for every part of every existing gradient that may be non-zero (all of it, or the
// runs of rows an embedding's backward touched: var.h), after checking it is contiguous.
template <typename Fn>
void for_each_grad(const std::vector<Var>& params, const char* where, Fn&& fn) {
  for (size_t i = 0; i < params.size(); ++i) {
    const Var& p = params[i];
    RC_CHECK(p.defined(), where, "parameter ", i, " is an undefined Var");
    if (!p.has_grad()) continue;
    RC_CHECK(p.node()->grad.is_contiguous(), where, "gradient of parameter ", i, " is not contiguous");
    for_each_grad_span(*p.node(), fn);
  }
}

}  // namespace

double grad_norm(const std::vector<Var>& params) {
  double sum_sq = 0.0;
  for_each_grad(params, "grad_norm", [&](const float* g, int64_t n) { sum_sq += sum_squares(g, n); });
  return std::sqrt(sum_sq);
}

float clip_grad_norm(const std::vector<Var>& params, double max_norm) {
  RC_CHECK(std::isfinite(max_norm) && max_norm > 0.0, "clip_grad_norm max_norm", "expected a finite value > 0, got ",
           max_norm);
  return clip_grad_norm(params, max_norm, grad_norm(params));
}

float clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm) {
  RC_CHECK(std::isfinite(max_norm) && max_norm > 0.0, "clip_grad_norm max_norm", "expected a finite value > 0, got ",
           max_norm);
  if (!std::isfinite(norm)) return static_cast<float>(norm);  // NaN or Inf: the caller decides
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for_each_grad(params, "clip_grad_norm", [&](float* g, int64_t n) {
      for (int64_t i = 0; i < n; ++i) g[i] *= c;
    });
  }
  // A finite double norm above FLT_MAX (huge finite gradients) becomes +inf explicitly: converting an
  // out-of-range double to float is undefined behaviour in C++.
  if (norm > std::numeric_limits<float>::max()) return std::numeric_limits<float>::infinity();
  return static_cast<float>(norm);
}

void clip_grad_value(const std::vector<Var>& params, float clip) {
  RC_CHECK(std::isfinite(clip) && clip >= 0.0f, "clip_grad_value clip", "expected a finite value >= 0, got ", clip);
  for_each_grad(params, "clip_grad_value", [&](float* g, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (g[i] > clip) g[i] = clip;
      else if (g[i] < -clip) g[i] = -clip;  // NaN compares false both ways and stays NaN
    }
  });
}

bool all_finite(const std::vector<Var>& params) {
  bool ok = true;
  for_each_grad(params, "all_finite", [&](const float* g, int64_t n) {
    for (int64_t i = 0; i < n && ok; ++i) ok = std::isfinite(g[i]);
  });
  return ok;
}

}  // namespace recurrent
