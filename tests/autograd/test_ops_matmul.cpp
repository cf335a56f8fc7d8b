// matmul and linear (src/autograd/ops_matmul.cpp): finite-difference gradients for every transpose
// combination and every rank mix, forward values against a plain double loop, strided inputs,
// shape errors.
//
// Tolerance: gradcheck.h's defaults. The output is bilinear, so with respect to each single input
// the loss is linear and the central difference has no truncation error; only rounding enters,
// with a fan-out of one element ≤ N·B ≤ 10 outputs of magnitude ≤ K = 4.
#include <gtest/gtest.h>

#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr int64_t kB = 2, kM = 3, kK = 4, kN = 2;

struct MatmulCase {
  int rank_a, rank_b;
  bool ta, tb;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const MatmulCase& c, std::ostream* os) {
  *os << c.rank_a << "-D x " << c.rank_b << "-D, trans_a " << c.ta << ", trans_b " << c.tb;
}

Shape shape_a(const MatmulCase& c) {
  Shape s = c.ta ? Shape{kK, kM} : Shape{kM, kK};
  if (c.rank_a == 3) s.insert(s.begin(), kB);
  return s;
}
Shape shape_b(const MatmulCase& c) {
  Shape s = c.tb ? Shape{kN, kK} : Shape{kK, kN};
  if (c.rank_b == 3) s.insert(s.begin(), kB);
  return s;
}

// out[b, m, n] = Σ_k A'[b, m, k] · B'[b, k, n] in double, reading elements by index.
Tensor ref_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const bool a3 = a.dim() == 3, b3 = b.dim() == 3;
  const int64_t batch = a3 ? a.size(0) : (b3 ? b.size(0) : 1);
  const int64_t M = ta ? a.size(-1) : a.size(-2), K = ta ? a.size(-2) : a.size(-1);
  const int64_t N = tb ? b.size(-2) : b.size(-1);
  auto A = [&](int64_t i, int64_t m, int64_t k) {
    const int64_t r = ta ? k : m, c = ta ? m : k;
    return static_cast<double>(a3 ? a.at({i, r, c}) : a.at({r, c}));
  };
  auto Bv = [&](int64_t i, int64_t k, int64_t n) {
    const int64_t r = tb ? n : k, c = tb ? k : n;
    return static_cast<double>(b3 ? b.at({i, r, c}) : b.at({r, c}));
  };
  Tensor out = (a3 || b3) ? Tensor({batch, M, N}) : Tensor({M, N});
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t k = 0; k < K; ++k) s += A(i, m, k) * Bv(i, k, n);
        float& o = (a3 || b3) ? out.at({i, m, n}) : out.at({m, n});
        o = static_cast<float>(s);
      }
  return out;
}

class MatmulEveryMode : public ::testing::TestWithParam<MatmulCase> {};

TEST_P(MatmulEveryMode, GradientsMatchFiniteDifferences) {
  const MatmulCase c = GetParam();
  Rng rng(1);
  auto f = [c](const std::vector<Var>& v) { return matmul(v[0], v[1], c.ta, c.tb); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor(shape_a(c), rng), random_tensor(shape_b(c), rng)}));
}

TEST_P(MatmulEveryMode, ForwardMatchesDoubleLoop) {
  const MatmulCase c = GetParam();
  Rng rng(2);
  Tensor a = random_tensor(shape_a(c), rng), b = random_tensor(shape_b(c), rng);
  Tensor out = matmul(Var(a), Var(b), c.ta, c.tb).value();
  // |error| ≤ K·u·Σ|a||b| ≈ 4·6e-8·4 ≈ 1e-6 for values in [-1, 1].
  EXPECT_TRUE(tensor_near(out, ref_matmul(a, b, c.ta, c.tb), 1e-5));
}

TEST_P(MatmulEveryMode, StridedInputs) {
  const MatmulCase c = GetParam();
  Rng rng(3);
  auto f = [c](const std::vector<Var>& v) { return matmul(v[0], v[1], c.ta, c.tb); };
  EXPECT_TRUE(strided_inputs_match(f, {random_tensor(shape_a(c), rng), random_tensor(shape_b(c), rng)}));
}

std::vector<MatmulCase> all_matmul_cases() {
  std::vector<MatmulCase> cs;
  for (auto [ra, rb] : {std::pair{2, 2}, {3, 2}, {2, 3}, {3, 3}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) cs.push_back({ra, rb, ta, tb});
  return cs;
}

INSTANTIATE_TEST_SUITE_P(Modes, MatmulEveryMode, ::testing::ValuesIn(all_matmul_cases()), [](const auto& info) {
  const MatmulCase& c = info.param;
  return std::to_string(c.rank_a) + "Dx" + std::to_string(c.rank_b) + "D_" + (c.ta ? "T" : "N") + (c.tb ? "T" : "N");
});

TEST(Matmul, SharedOperandGradientSumsOverBatch) {
  // a [B, M, K] · b [K, N]: ∂b = Σ_b A[b]ᵀ·G[b]. With G = ones and A[b] = (b+1)·ones, ∂b = (1+2)·M.
  Tensor a({kB, kM, kK});
  for (int64_t i = 0; i < kB; ++i) a.slice(0, i, i + 1).fill_(static_cast<float>(i + 1));
  Var va(a, false), vb(Tensor::ones({kK, kN}), true);
  matmul(va, vb).backward(Tensor::ones({kB, kM, kN}));
  EXPECT_TRUE(tensor_near(vb.grad(), Tensor::full({kK, kN}, 3.0f * kM), 1e-6));
}

TEST(Matmul, SameOperandTwice) {
  // X·Xᵀ and Xᵀ·X: both gradient terms land in one buffer (GEMMs accumulating with beta = 1 must
  // not overwrite each other): ∂X = (G + Gᵀ)·X resp. X·(G + Gᵀ).
  Rng rng(7);
  for (bool first_t : {false, true}) {
    auto f = [first_t](const std::vector<Var>& v) { return matmul(v[0], v[0], first_t, !first_t); };
    EXPECT_TRUE(gradcheck_ok(f, {random_tensor({kM, kK}, rng)})) << (first_t ? "XtX" : "XXt");
  }
}

TEST(Matmul, ShapeErrors) {
  Var a(Tensor({3, 4})), b(Tensor({5, 2}));
  EXPECT_TRUE(throws_error([&] { matmul(a, b); }, "matmul", "inner dims differ"));
  EXPECT_TRUE(throws_error([&] { matmul(a, Var(Tensor({4}))); }, "matmul", "2-D or 3-D"));
  EXPECT_TRUE(throws_error([&] { matmul(Var(Tensor({2, 3, 4})), Var(Tensor({3, 4, 2}))); }, "matmul",
                           "batch sizes differ"));
  EXPECT_TRUE(throws_error([&] { matmul(a, Var(Tensor({3, 2})), true, true); }, "matmul", "inner dims differ"));
}

// ---- linear -----------------------------------------------------------------------------------

// out[r, o] = Σ_i x[r, i] W[o, i] + bias[o], x viewed as [R, I].
Tensor ref_linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t O = w.size(0), I = w.size(1), R = x.numel() / I;
  std::vector<double> xs = values(x), ws = values(w);
  std::vector<double> bs = bias.defined() ? values(bias) : std::vector<double>(O, 0.0);
  std::vector<double> out(R * O);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < O; ++o) {
      double s = bs[o];
      for (int64_t i = 0; i < I; ++i) s += xs[r * I + i] * ws[o * I + i];
      out[r * O + o] = s;
    }
  Shape os = x.shape();
  os.back() = O;
  return tensor_of(out, os);
}

struct LinearCase {
  Shape x_shape;
  bool bias;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const LinearCase& c, std::ostream* os) {
  *os << "x " << shape_str(c.x_shape) << (c.bias ? " with bias" : " without bias");
}

class LinearEveryMode : public ::testing::TestWithParam<LinearCase> {};

GradFn linear_fn(bool bias) {
  return [bias](const std::vector<Var>& v) { return bias ? linear(v[0], v[1], v[2]) : linear(v[0], v[1]); };
}

std::vector<Tensor> linear_inputs(const LinearCase& c, Rng& rng) {
  std::vector<Tensor> in{random_tensor(c.x_shape, rng), random_tensor({3, c.x_shape.back()}, rng)};
  if (c.bias) in.push_back(random_tensor({3}, rng));
  return in;
}

TEST_P(LinearEveryMode, GradientsMatchFiniteDifferences) {
  Rng rng(4);
  EXPECT_TRUE(gradcheck_ok(linear_fn(GetParam().bias), linear_inputs(GetParam(), rng)));
}

TEST_P(LinearEveryMode, ForwardMatchesDoubleLoop) {
  Rng rng(5);
  auto in = linear_inputs(GetParam(), rng);
  std::vector<Var> vs(in.begin(), in.end());
  Tensor out = linear_fn(GetParam().bias)(vs).value();
  EXPECT_TRUE(tensor_near(out, ref_linear(in[0], in[1], GetParam().bias ? in[2] : Tensor()), 1e-5));
}

TEST_P(LinearEveryMode, StridedInputs) {
  Rng rng(6);
  EXPECT_TRUE(strided_inputs_match(linear_fn(GetParam().bias), linear_inputs(GetParam(), rng)));
}

INSTANTIATE_TEST_SUITE_P(Modes, LinearEveryMode,
                         ::testing::Values(LinearCase{{2, 4}, true}, LinearCase{{2, 4}, false},
                                           LinearCase{{2, 3, 4}, true}, LinearCase{{2, 3, 4}, false}),
                         [](const auto& info) {
                           return std::to_string(info.param.x_shape.size()) + "D_" +
                                  (info.param.bias ? "bias" : "nobias");
                         });

TEST(Linear, ShapeErrors) {
  Var x(Tensor({2, 4})), w(Tensor({3, 4}));
  EXPECT_TRUE(throws_error([&] { linear(x, Var(Tensor({12}))); }, "linear", "weight must be [out, in]"));
  EXPECT_TRUE(throws_error([&] { linear(Var(Tensor({2, 5})), w); }, "linear", "in_features 4"));
  EXPECT_TRUE(throws_error([&] { linear(x, w, Var(Tensor({4}))); }, "linear", "bias must be [3]"));
}

}  // namespace

// The bias gradient Σ_r G[r, :] over a wide output (1,100 = two full 512-column blocks and a
// ragged tail, the blocking of the column-sum kernel) and many rows, against a double sum.
TEST(Linear, WideBiasGradientIsTheColumnSum) {
  Rng rng(7);
  const int64_t R = 37, I = 3, O = 1100;
  Var x(random_tensor({R, I}, rng), true), w(random_tensor({O, I}, rng), true), b(random_tensor({O}, rng), true);
  Var y = linear(x, w, b);
  Tensor g = random_tensor({R, O}, rng);
  y.backward(g);
  std::vector<double> col(O, 0.0);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t o = 0; o < O; ++o) col[o] += g.at({r, o});
  EXPECT_TRUE(tensor_near(b.grad(), tensor_of(col, {O}), 1e-6, 1e-6));
}
