// sigmoid / tanh (generic and AVX-512 paths) against double precision over every 256th float bit
// pattern (all binades, both signs), a dense linear grid on [-20, 20] and the special values.
// Bounds asserted are the ones stated in include/recurrent/kernels/activations.h; the float
// result itself can be off by half an ulp (up to 6e-8 near 1), so these are a few ulps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "recurrent/kernels/activations.h"
#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd_targets.h"

namespace recurrent {
namespace {

constexpr double kTanhAbs = 1e-7, kTanhRel = 2e-7;
constexpr double kSigmoidAbs = 1e-7, kSigmoidRel = 2e-7, kSigmoidRelFloor = 1e-37;

using ArrayFn = void (*)(const float*, float*, int64_t);

std::vector<float> test_inputs() {
  std::vector<float> xs;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 256) {  // every 256th bit pattern, finite only
    uint32_t bits = static_cast<uint32_t>(b) | 0x5Au;           // vary the low mantissa bits too
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isfinite(f)) xs.push_back(f);
  }
  for (int i = -20 * 4096; i <= 20 * 4096; ++i) xs.push_back(static_cast<float>(i) / 4096.0f);
  // tanh: where the reduction's n steps from 0 to -1 (|x| = ln2/4), from -23 to -24 and -24 to -25
  // (1 ± 2^n stop being exact), where float tanh reaches 1 (9.01) and the clamp (10);
  // sigmoid: the exp clamp (87, 88).
  const float lim[] = {0.1732868f, 8.144f, 8.491f, 9.01f, 10.0f, 87.0f, 88.0f, 1e-4f, 0.5f, 1.0f};
  for (float l : lim)
    for (float f = l, g = l; f < l * 1.001f; f = std::nextafter(f, 1e30f), g = std::nextafter(g, 0.0f)) {
      xs.insert(xs.end(), {f, -f, g, -g});
    }
  return xs;
}

struct Worst {
  double abs = 0, rel = 0;
  float abs_x = 0, rel_x = 0;
};

Worst measure(ArrayFn f, double (*ref)(double), const std::vector<float>& xs, double rel_floor) {
  std::vector<float> ys(xs.size());
  f(xs.data(), ys.data(), static_cast<int64_t>(xs.size()));
  Worst w;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double r = ref(xs[i]), e = std::fabs(ys[i] - r);
    if (!(e <= w.abs)) w.abs = e, w.abs_x = xs[i];  // also catches NaN results
    if (std::fabs(r) >= rel_floor && !(e / std::fabs(r) <= w.rel)) w.rel = e / std::fabs(r), w.rel_x = xs[i];
  }
  return w;
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double tanh_ref(double x) { return std::tanh(x); }

void check_bounds(const char* what, ArrayFn sig, ArrayFn tnh) {
  static const std::vector<float> xs = test_inputs();
  Worst t = measure(tnh, tanh_ref, xs, std::numeric_limits<float>::min());
  EXPECT_LE(t.abs, kTanhAbs) << what << " tanh: worst abs error at x = " << t.abs_x;
  EXPECT_LE(t.rel, kTanhRel) << what << " tanh: worst rel error at x = " << t.rel_x;
  Worst s = measure(sig, sigmoid_ref, xs, kSigmoidRelFloor);
  EXPECT_LE(s.abs, kSigmoidAbs) << what << " sigmoid: worst abs error at x = " << s.abs_x;
  EXPECT_LE(s.rel, kSigmoidRel) << what << " sigmoid: worst rel error at x = " << s.rel_x;
  std::printf("[ measured ] %s over %zu inputs: tanh abs %.3g (x=%g) rel %.3g (x=%g); "
              "sigmoid abs %.3g (x=%g) rel %.3g (x=%g)\n",
              what, xs.size(), t.abs, t.abs_x, t.rel, t.rel_x, s.abs, s.abs_x, s.rel, s.rel_x);
}

void check_specials(const char* what, ArrayFn sig, ArrayFn tnh) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float fmax = std::numeric_limits<float>::max(), den = std::numeric_limits<float>::denorm_min();
  const std::vector<float> x = {inf, -inf, nan, -nan, fmax, -fmax, 0.0f, -0.0f, den, -den, 1e30f, -1e30f};
  std::vector<float> t(x.size()), s(x.size());
  tnh(x.data(), t.data(), static_cast<int64_t>(x.size()));
  sig(x.data(), s.data(), static_cast<int64_t>(x.size()));
  const std::string w = what;
  EXPECT_EQ(t[0], 1.0f) << w;
  EXPECT_EQ(t[1], -1.0f) << w;
  EXPECT_TRUE(std::isnan(t[2]) && std::isnan(t[3])) << w << " tanh must propagate NaN";
  EXPECT_TRUE(std::isnan(s[2]) && std::isnan(s[3])) << w << " sigmoid must propagate NaN";
  EXPECT_EQ(t[4], 1.0f) << w;
  EXPECT_EQ(t[5], -1.0f) << w;
  EXPECT_TRUE(t[6] == 0.0f && !std::signbit(t[6]) && t[7] == 0.0f && std::signbit(t[7])) << w << " tanh(±0)";
  EXPECT_EQ(t[8], den) << w;  // tanh(x) = x for tiny x
  EXPECT_EQ(t[9], -den) << w;
  EXPECT_EQ(t[10], 1.0f) << w;  // saturation
  EXPECT_EQ(t[11], -1.0f) << w;
  EXPECT_EQ(s[0], 1.0f) << w;
  EXPECT_TRUE(s[1] >= 0.0f && s[1] < 1e-37f) << w << " sigmoid(-inf) = " << s[1];
  EXPECT_EQ(s[4], 1.0f) << w;
  EXPECT_TRUE(s[5] >= 0.0f && s[5] < 1e-37f) << w;
  EXPECT_EQ(s[6], 0.5f) << w;
  EXPECT_EQ(s[7], 0.5f) << w;
  EXPECT_EQ(s[10], 1.0f) << w;
  EXPECT_TRUE(s[11] >= 0.0f && s[11] < 1e-37f) << w;
}

// In place equals out of place, and every length (tails of the 16/32-lane loops) matches the
// whole-array result element for element.
void check_lengths_and_aliasing(const char* what, ArrayFn f) {
  std::vector<float> x(70);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i)) * 6.0f;
  std::vector<float> full(x.size());
  f(x.data(), full.data(), static_cast<int64_t>(x.size()));
  for (int64_t n = 0; n <= static_cast<int64_t>(x.size()); ++n) {
    std::vector<float> y(x.size() + 1, -7.0f), in(x.begin(), x.end());
    f(x.data(), y.data(), n);
    f(in.data(), in.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], full[i]) << what << " n=" << n << " i=" << i;
      ASSERT_EQ(in[i], full[i]) << what << " in place, n=" << n << " i=" << i;
    }
    ASSERT_EQ(y[n], -7.0f) << what << " wrote past the end, n=" << n;
  }
}

TEST(Activations, GenericPathWithinStatedError) {
  check_bounds("generic", sigmoid_vec_generic, tanh_vec_generic);
  check_specials("generic", sigmoid_vec_generic, tanh_vec_generic);
  check_lengths_and_aliasing("generic sigmoid", sigmoid_vec_generic);
  check_lengths_and_aliasing("generic tanh", tanh_vec_generic);
}

// The SIMD kernels of every target this CPU runs (src/kernels/simd/math-inl.h, one source), through the
// dispatching array functions with that target as the default.
class ActivationsTarget : public ::testing::TestWithParam<int64_t> {};

TEST_P(ActivationsTarget, WithinStatedError) {
  testing::ScopedTarget scope(GetParam());
  const std::string name = simd::target_name(GetParam());
  check_bounds(name.c_str(), sigmoid_vec, tanh_vec);
  check_specials(name.c_str(), sigmoid_vec, tanh_vec);
  check_lengths_and_aliasing((name + " sigmoid").c_str(), sigmoid_vec);
  check_lengths_and_aliasing((name + " tanh").c_str(), tanh_vec);
}

INSTANTIATE_TEST_SUITE_P(Targets, ActivationsTarget, ::testing::ValuesIn(simd::cpu_targets()), testing::TargetName());

// σ'(x) and tanh'(x) computed from x with the value (math-inl.h SigmoidWithGrad / TanhWithGrad, the layer-norm
// LSTM's backward): the value is the plain array's bit for bit, and the derivative keeps its relative accuracy
// where the function saturates, which s(1 − s) and 1 − t² from the float value lose (there 1 − s and 1 − t² keep
// only the value's absolute rounding: ~1e-3 relative at s = 1 − 1e-4). Relative bounds up to the clamps (tanh
// |x| ≤ 10, sigmoid |x| ≤ 80), absolute beyond them, where the derivative is below 1e-8 (tanh) or 1e-37.
constexpr double kGradRel = 5e-7;
double sigmoid_grad_ref(double x) { return std::exp(-x) / ((1.0 + std::exp(-x)) * (1.0 + std::exp(-x))); }
double tanh_grad_ref(double x) { return 1.0 / (std::cosh(x) * std::cosh(x)); }

struct GradWorst {
  double rel = 0, naive_rel = 0;
  float rel_x = 0, naive_x = 0;
};

GradWorst check_grad(const char* what, bool tanh_fn, const std::vector<float>& xs) {
  const simd::RnnKernels& k = simd::rnn_kernels();
  const int64_t n = static_cast<int64_t>(xs.size());
  std::vector<float> y(xs.size()), dy(xs.size()), plain(xs.size());
  (tanh_fn ? k.tanh_grad_array : k.sigmoid_grad_array)(xs.data(), y.data(), dy.data(), n);
  (tanh_fn ? k.tanh_array : k.sigmoid_array)(xs.data(), plain.data(), n);
  GradWorst w;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], r = tanh_fn ? tanh_grad_ref(x) : sigmoid_grad_ref(x);
    EXPECT_TRUE(std::memcmp(&y[i], &plain[i], sizeof(float)) == 0) << what << " value differs at x = " << x;
    const bool relative = std::fabs(x) <= (tanh_fn ? 10.0 : 80.0);
    const double e = std::fabs(dy[i] - r), lim = relative ? kGradRel * r : (tanh_fn ? 1e-8 : 1e-37);
    EXPECT_LE(e, lim) << what << " derivative at x = " << x << ": " << dy[i] << " vs " << r;
    if (relative && e / r > w.rel) w.rel = e / r, w.rel_x = xs[i];
    const double naive = tanh_fn ? 1.0 - static_cast<double>(y[i]) * y[i] : y[i] * (1.0 - static_cast<double>(y[i]));
    if (relative && r > 0 && std::fabs(naive - r) / r > w.naive_rel) w.naive_rel = std::fabs(naive - r) / r, w.naive_x = xs[i];
  }
  return w;
}

TEST_P(ActivationsTarget, DerivativesFromTheInputKeepRelativeAccuracy) {
  testing::ScopedTarget scope(GetParam());
  const std::string name = simd::target_name(GetParam());
  std::vector<float> xs;
  for (int i = -100 * 256; i <= 100 * 256; ++i) xs.push_back(static_cast<float>(i) / 256.0f);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-4f, 9.99f, 10.0f, 10.01f, 87.5f, -87.5f, 200.0f, -200.0f})
    xs.push_back(x);
  const GradWorst s = check_grad((name + " sigmoid").c_str(), false, xs);
  const GradWorst t = check_grad((name + " tanh").c_str(), true, xs);
  // What the derivative from the float value alone would have missed by on the same inputs.
  EXPECT_GT(s.naive_rel, 100 * kGradRel);
  EXPECT_GT(t.naive_rel, 100 * kGradRel);
  std::printf("[ measured ] %s derivatives: sigmoid rel %.3g (x=%g; from the value %.3g), tanh rel %.3g (x=%g; from "
              "the value %.3g)\n", name.c_str(), s.rel, s.rel_x, s.naive_rel, t.rel, t.rel_x, t.naive_rel);
}

TEST(Activations, ScalarHelpersMatchGenericArrays) {
  const float xs[] = {-30.0f, -3.0f, -0.6f, -1e-3f, 0.0f, 0.3f, 0.7f, 2.0f, 12.0f};
  for (float x : xs) {
    float s, t;
    sigmoid_vec_generic(&x, &s, 1);
    tanh_vec_generic(&x, &t, 1);
    EXPECT_EQ(sigmoid_scalar(x), s) << x;
    EXPECT_EQ(tanh_scalar(x), t) << x;
  }
}

}  // namespace
}  // namespace recurrent
