// Row max, exp-shift-sum (kernels/softmax.h) and GELU (kernels/gelu.h), generic and AVX-512 paths,
// against double precision. The GELU bounds asserted are the ones stated in gelu.h.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "recurrent/core/rng.h"
#include "kernels/simd/rnn_kernels.h"
#include "recurrent/kernels/target.h"
#include "recurrent/kernels/gelu.h"
#include "recurrent/kernels/softmax.h"

namespace recurrent {
namespace {

// Bounds of gelu.h: |gelu − exact| ≤ kGeluAbs·max(1, |x|), |gelu' − exact| ≤ kGradAbs.
constexpr double kGeluAbs = 2.5e-7, kGradAbs = 5e-7;

double gelu_exact(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_grad_exact(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}

std::vector<float> gelu_inputs() {
  std::vector<float> xs;
  for (int i = -12 * 4096; i <= 12 * 4096; ++i) xs.push_back(static_cast<float>(i) / 4096.0f);
  for (float v : {-1e4f, -100.0f, -30.0f, -13.5f, 13.5f, 30.0f, 1e4f, 1e-20f, -1e-20f, 0.0f}) xs.push_back(v);
  return xs;
}

// The portable loops (target 0) and the SIMD kernels of every target this CPU runs.
struct Fns {
  std::string name;
  void (*gelu)(const float*, float*, int64_t);
  void (*grad)(const float*, const float*, float*, int64_t);
  float (*max)(const float*, int64_t);
  double (*expsum)(float*, int64_t, float);
};
Fns fns(int64_t target) {
  if (target == 0) return {"generic", gelu_vec_generic, gelu_grad_add_generic, max_array_generic, exp_shift_sum_generic};
  const simd::RnnKernels& k = simd::rnn_kernels(target);
  return {simd::target_name(target), k.gelu_array, k.gelu_grad_add, k.max_array, k.exp_shift_sum};
}

std::vector<int64_t> paths() {
  std::vector<int64_t> p{0};
  for (int64_t t : simd::cpu_targets()) p.push_back(t);
  return p;
}

class TransformerKernels : public ::testing::TestWithParam<int64_t> {};

TEST_P(TransformerKernels, GeluAgainstErf) {
  const Fns f = fns(GetParam());
  const std::vector<float> xs = gelu_inputs();
  std::vector<float> y(xs.size()), dx(xs.size(), 0.25f), g(xs.size(), 1.0f);
  f.gelu(xs.data(), y.data(), static_cast<int64_t>(xs.size()));
  f.grad(xs.data(), g.data(), dx.data(), static_cast<int64_t>(xs.size()));
  double worst = 0.0, worst_g = 0.0;
  float at = 0.0f, at_g = 0.0f;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    const double e = std::fabs(y[i] - gelu_exact(x)) / std::max(1.0, std::fabs(x));
    const double eg = std::fabs((dx[i] - 0.25) - gelu_grad_exact(x));  // gelu_grad_add adds
    if (e > worst) worst = e, at = xs[i];
    if (eg > worst_g) worst_g = eg, at_g = xs[i];
  }
  EXPECT_LE(worst, kGeluAbs) << "at x = " << at;
  EXPECT_LE(worst_g, kGradAbs) << "at x = " << at_g;
  std::printf("[%s] gelu max error %.3g·max(1,|x|) at %g; gelu' max error %.3g at %g\n", f.name.c_str(), worst, at,
              worst_g, at_g);
  // Scalar forms agree with the array path to a few ulps (the AVX-512 path uses FMA).
  for (size_t i = 0; i < xs.size(); i += 97)
    EXPECT_NEAR(y[i], gelu_scalar(xs[i]), 4e-7 * std::max(1.0f, std::fabs(xs[i]))) << xs[i];
}

TEST_P(TransformerKernels, MaxAndExpShiftSum) {
  const Fns f = fns(GetParam());
  Rng rng(7);
  for (int64_t n : {0, 1, 5, 16, 17, 33, 100, 1000}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = rng.uniform(-30.0f, 5.0f);
    if (n > 3) x[2] = -std::numeric_limits<float>::infinity();  // a masked key
    float mx = -std::numeric_limits<float>::infinity();
    for (float v : x) mx = std::max(mx, v);
    EXPECT_EQ(f.max(x.data(), n), mx) << "n = " << n;
    std::vector<float> e = x;
    const double s = f.expsum(e.data(), n, mx);
    double ref = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double r = std::isinf(x[i]) ? 0.0 : std::exp(static_cast<double>(x[i]) - mx);
      // exp's own error (≤ 2 ulp ≈ 2.5e-7 relative) plus the rounding of the float argument x − s,
      // |x − s|·2⁻²⁴ absolute, which e^{·} turns into the same relative error (up to 2e-6 at x − s ≈ −35).
      const double arg = std::isinf(x[i]) ? 0.0 : std::fabs(static_cast<double>(x[i]) - mx);
      EXPECT_NEAR(e[i], r, (2.5e-7 + arg * 6.0e-8) * r + 1e-38) << "n = " << n << ", i = " << i;
      ref += r;
    }
    if (n > 3) {
      EXPECT_EQ(e[2], 0.0f) << "−inf must give exactly 0";
    }
    EXPECT_NEAR(s, ref, 1e-6 * ref + 1e-30) << "n = " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, TransformerKernels, ::testing::ValuesIn(paths()),
                         [](const auto& info) { return fns(info.param).name; });

}  // namespace
}  // namespace recurrent
