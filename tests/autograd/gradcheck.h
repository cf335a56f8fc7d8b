// tests/autograd/gradcheck.h — finite-difference gradient check for ops, cells and modules.
//
// Header-only; other test folders use it as `#include "autograd/gradcheck.h"` (tests/ is on the
// include path).
//
//   gradcheck(f, inputs, opts) compares, for every element j of every checked input x_k,
//     analytic  ∂L/∂x_kj  from the tape, seeded with w (out.backward(w)), and
//     numeric   (L(x + h e_j) − L(x − h e_j)) / (2h),   L(x) = Σ_i w_i · f(x)_i  summed in double,
//   where w is a fixed random, non-uniform weight tensor ("lopsided loss", DyNet grad-check.cc):
//   with a plain Σ out, an error that is symmetric across outputs (e.g. a transposed or permuted
//   gradient, a wrong sign in one of two paired terms) can cancel and hide; random w breaks that.
//
// The check also verifies that backward ADDS into gradients: each checked input starts with a
// random gradient G0 and the analytic value is grad − G0 (an op that overwrites fails).
//
// Tolerance argument (float32 ops, unit roundoff u = 2⁻²⁴ ≈ 6e-8). The numeric derivative has
//   truncation error  h²/6 · |L'''|           (central difference, Taylor remainder), and
//   rounding error    ≈ δ / h,                 δ = error of L(x ± h) ≈ k·u·Σ_{affected i} |w_i out_i|.
// Only outputs that depend on x_kj change between the two evaluations — the others are recomputed
// bit-identically and cancel — so δ scales with the fan-out of one input element, not with numel.
// The sum Σ w_i out_i itself is taken in double (no extra rounding), and the step is the exact
// difference of the two perturbed floats (the rounding of x ± h does not enter).
// With h = 1e-2, O(1) values and fan-out ≲ 50: truncation ≈ 2e-5·|L'''|, rounding ≈ 50·4·6e-8/1e-2
// ≈ 1e-3 worst case (≈ 1e-4 typical, errors add like a random walk). Hence the defaults
// atol = 2e-3, rtol = 1e-2: ~10× over the typical error, while a wrong backward formula is off by
// O(|∂L|), i.e. O(1e-1..1) here. Ops with large third derivatives, large fan-out or non-smooth
// points (relu: keep inputs |x| > h) declare their own tolerance in the test (ggml style).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"

namespace recurrent::testing {

struct GradCheckOptions {
  double eps = 1e-2;             // step h
  double atol = 2e-3;            // pass: |analytic − numeric| ≤ atol + rtol·|numeric|
  double rtol = 1e-2;
  uint64_t seed = 0x5EED;        // for the loss weights w and the initial gradients G0
  std::vector<bool> check;       // which inputs to differentiate (empty: all)
};

struct GradCheckResult {
  bool ok = true;
  double worst_ratio = 0.0;      // max over elements of |a − n| / (atol + rtol·|n|); ok ⇔ ≤ 1
  size_t worst_input = 0;
  int64_t worst_index = -1;      // flat index into that input
  double analytic = 0.0, numeric = 0.0;
  std::string message;
};

// "[1, 2, 0]" for a flat index of `shape`.
inline std::string unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  rng.fill_uniform(t, lo, hi);
  return t;
}

// Uniform values with |x| in [lo, hi] and random sign: keeps inputs away from kinks (relu at 0)
// and poles (log, div at 0) by more than the finite-difference step.
inline Tensor random_away_from_zero(const Shape& shape, Rng& rng, float lo = 0.2f, float hi = 1.0f) {
  Tensor t(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(lo, hi) * (rng.bernoulli(0.5f) ? 1.0f : -1.0f);
  return t;
}

using GradFn = std::function<Var(const std::vector<Var>&)>;

namespace detail {
inline double weighted_sum(const Tensor& out, const Tensor& w) {
  Tensor o = out.contiguous();
  double s = 0.0;
  for (int64_t i = 0; i < o.numel(); ++i) s += static_cast<double>(w.data()[i]) * o.data()[i];
  return s;
}

// L(inputs) without recording a tape.
inline double eval_loss(const GradFn& f, const std::vector<Tensor>& inputs, const Tensor& w) {
  NoGradGuard ng;
  std::vector<Var> vs;
  for (const Tensor& t : inputs) vs.emplace_back(t, false);
  return weighted_sum(f(vs).value(), w);
}
}  // namespace detail

inline GradCheckResult gradcheck(const GradFn& f, std::vector<Tensor> inputs, GradCheckOptions opts = {}) {
  GradCheckResult res;
  Rng rng(opts.seed);
  for (Tensor& t : inputs) t = t.clone();  // private copies: the caller's tensors are never perturbed
  auto checked = [&](size_t k) { return opts.check.empty() || (k < opts.check.size() && opts.check[k]); };

  // Analytic: tape with pre-filled gradients G0, seeded with the lopsided weights w.
  std::vector<Var> vars;
  std::vector<Tensor> g0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    vars.emplace_back(inputs[k].clone(), checked(k));
    g0.push_back(random_tensor(inputs[k].shape(), rng));
    if (checked(k)) vars.back().grad().copy_(g0.back());
  }
  Var out = f(vars);
  Tensor w = random_tensor(out.shape(), rng, -0.5f, 1.5f);  // non-uniform, mostly positive, some negative
  if (!out.requires_grad()) {
    res.ok = false;
    res.message = "output does not require grad: the op recorded no tape node";
    return res;
  }
  out.backward(w);

  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!checked(k)) continue;
    Tensor grad = vars[k].grad().contiguous();
    // x() for every write, never a pointer kept across f: the non-const access bumps the tensor's
    // version, which caches of derived values key on (the RNN's packed weights, core/tensor.h).
    auto x = [&] { return inputs[k].data(); };
    for (int64_t j = 0; j < inputs[k].numel(); ++j) {
      const float x0 = std::as_const(inputs[k]).data()[j];
      const float xp = static_cast<float>(x0 + opts.eps), xm = static_cast<float>(x0 - opts.eps);
      x()[j] = xp;
      const double lp = detail::eval_loss(f, inputs, w);
      x()[j] = xm;
      const double lm = detail::eval_loss(f, inputs, w);
      x()[j] = x0;
      const double numeric = (lp - lm) / (static_cast<double>(xp) - static_cast<double>(xm));
      const double analytic = static_cast<double>(grad.data()[j]) - g0[k].data()[j];
      const double ratio = std::fabs(analytic - numeric) / (opts.atol + opts.rtol * std::fabs(numeric));
      if (!(ratio <= res.worst_ratio) || res.worst_index < 0) {  // NaN always becomes the worst
        res.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
        res.worst_input = k;
        res.worst_index = j;
        res.analytic = analytic;
        res.numeric = numeric;
      }
    }
  }
  res.ok = res.worst_ratio <= 1.0;
  std::ostringstream os;
  if (res.worst_index >= 0)
    os << "worst element: input " << res.worst_input << " index "
       << unravel(res.worst_index, inputs[res.worst_input].shape()) << " (flat " << res.worst_index
       << "): analytic " << res.analytic << ", numeric " << res.numeric << ", |diff| "
       << std::fabs(res.analytic - res.numeric) << " = " << res.worst_ratio << "× the tolerance (atol "
       << opts.atol << ", rtol " << opts.rtol << ", h " << opts.eps << ")";
  else
    os << "no input element was checked";
  res.message = os.str();
  return res;
}

// EXPECT_TRUE(gradcheck_ok(f, inputs[, opts])) — the failure message names the worst element.
inline ::testing::AssertionResult gradcheck_ok(const GradFn& f, std::vector<Tensor> inputs, GradCheckOptions opts = {}) {
  GradCheckResult r = gradcheck(f, std::move(inputs), opts);
  if (r.ok) return ::testing::AssertionSuccess() << r.message;
  return ::testing::AssertionFailure() << "gradient check failed: " << r.message;
}

// EXPECT_TRUE(tensor_near(actual, expected, atol, rtol)): same shape and every element within
// atol + rtol·|expected| (equal elements always pass; NaN never does); the failure names the worst element.
inline ::testing::AssertionResult tensor_near(const Tensor& actual, const Tensor& expected, double atol,
                                              double rtol = 0.0) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs expected "
                                         << shape_str(expected.shape());
  Tensor a = actual.contiguous(), e = expected.contiguous();
  double worst = -1.0;
  int64_t wi = -1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a.data()[i]) - e.data()[i]);
    // An exact match passes even with zero tolerances (d / 0 would be 0/0 = NaN, read as a failure).
    const double ratio = d == 0.0 ? 0.0 : d / (atol + rtol * std::fabs(e.data()[i]));
    if (!(ratio <= worst)) {
      worst = std::isnan(ratio) ? INFINITY : ratio;
      wi = i;
    }
  }
  if (wi < 0 || worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "worst element at " << unravel(wi, a.shape()) << " (flat " << wi
                                       << "): got " << a.data()[wi] << ", expected " << e.data()[wi]
                                       << " (atol " << atol << ", rtol " << rtol << ")";
}

inline ::testing::AssertionResult tensor_near(const Tensor& actual, std::vector<float> expected, double atol,
                                              double rtol = 0.0) {
  return tensor_near(actual, Tensor::from(std::move(expected), actual.shape()), atol, rtol);
}

}  // namespace recurrent::testing
