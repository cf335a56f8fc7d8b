// add / sub / mul / div with numpy broadcasting, and scale / add_scalar / neg
// (src/autograd/ops_elementwise.cpp): gradients for every broadcast pattern, forward values against
// an independent broadcasting loop, strided inputs, the operator overloads, shape errors.
//
// Tolerance: gradcheck.h's defaults. add/sub/mul are linear in each input (no truncation error);
// for div the divisor is kept in |b| ∈ [0.5, 1.5], where |∂³(a/b)/∂b³| = 6|a|/b⁴ ≤ 96, so the
// truncation error h²/6·96 ≈ 1.6e-3 is within rtol·|∂b| (|∂b| = |a|/b² up to 4 → 4e-2).
// A broadcast input's fan-out is the broadcast factor (≤ 24 here), still within the default bound.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>

#include "autograd/op_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

enum class BinOp { add, sub, mul, div };

const char* name(BinOp op) {
  switch (op) {
    case BinOp::add: return "add";
    case BinOp::sub: return "sub";
    case BinOp::mul: return "mul";
    case BinOp::div: return "div";
  }
  return "?";
}

Var apply(BinOp op, const Var& a, const Var& b) {
  switch (op) {
    case BinOp::add: return add(a, b);
    case BinOp::sub: return sub(a, b);
    case BinOp::mul: return mul(a, b);
    case BinOp::div: return div(a, b);
  }
  return Var();
}

double apply_ref(BinOp op, double a, double b) {
  switch (op) {
    case BinOp::add: return a + b;
    case BinOp::sub: return a - b;
    case BinOp::mul: return a * b;
    case BinOp::div: return a / b;
  }
  return 0.0;
}

// Independent broadcasting: out shape by the numpy rule, each output multi-index mapped to each
// input's index by clamping broadcast dims to 0.
Tensor ref_broadcast(BinOp op, const Tensor& a, const Tensor& b) {
  const size_t nd = std::max(a.shape().size(), b.shape().size());
  auto padded = [nd](const Shape& s) {
    Shape p(nd - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  const Shape pa = padded(a.shape()), pb = padded(b.shape());
  Shape out(nd);
  for (size_t d = 0; d < nd; ++d) out[d] = std::max(pa[d], pb[d]);
  std::vector<double> av = values(a), bv = values(b), ov(shape_numel(out));
  for (int64_t k = 0; k < shape_numel(out); ++k) {
    int64_t rem = k, ia = 0, ib = 0, sa = 1, sb = 1;
    for (size_t d = nd; d-- > 0;) {
      const int64_t i = rem % out[d];
      rem /= out[d];
      ia += (pa[d] == 1 ? 0 : i) * sa;
      ib += (pb[d] == 1 ? 0 : i) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    ov[k] = apply_ref(op, av[ia], bv[ib]);
  }
  return tensor_of(ov, out);
}

struct BroadcastCase {
  const char* label;
  Shape a, b;
};

const BroadcastCase kBroadcastCases[] = {
    {"same", {3, 4}, {3, 4}},
    {"scalar0d", {3, 4}, {}},
    {"scalar1", {3, 4}, {1}},
    {"row", {3, 4}, {4}},
    {"row_keepdim", {3, 4}, {1, 4}},
    {"column", {3, 4}, {3, 1}},
    {"leading_dim", {2, 3, 4}, {3, 4}},
    {"leading_one", {1, 3, 4}, {2, 3, 4}},
    {"both_broadcast", {2, 1, 4}, {3, 1}},
    {"a_broadcast", {4}, {3, 4}},
};

struct ElementwiseCase {
  BinOp op;
  BroadcastCase shapes;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const ElementwiseCase& c, std::ostream* os) { *os << name(c.op) << "_" << c.shapes.label; }

std::vector<Tensor> inputs_for(const ElementwiseCase& c, Rng& rng) {
  Tensor a = random_tensor(c.shapes.a, rng);
  Tensor b = c.op == BinOp::div ? random_away_from_zero(c.shapes.b, rng, 0.5f, 1.5f) : random_tensor(c.shapes.b, rng);
  return {a, b};
}

class EveryBroadcast : public ::testing::TestWithParam<ElementwiseCase> {};

TEST_P(EveryBroadcast, GradientsMatchFiniteDifferences) {
  const ElementwiseCase c = GetParam();
  Rng rng(11);
  auto f = [op = c.op](const std::vector<Var>& v) { return apply(op, v[0], v[1]); };
  EXPECT_TRUE(gradcheck_ok(f, inputs_for(c, rng)));
}

TEST_P(EveryBroadcast, ForwardMatchesBroadcastLoop) {
  const ElementwiseCase c = GetParam();
  Rng rng(12);
  auto in = inputs_for(c, rng);
  Tensor out = apply(c.op, Var(in[0]), Var(in[1])).value();
  EXPECT_TRUE(tensor_near(out, ref_broadcast(c.op, in[0], in[1]), 1e-6, 1e-6));  // one float rounding
}

TEST_P(EveryBroadcast, StridedInputs) {
  const ElementwiseCase c = GetParam();
  Rng rng(13);
  auto f = [op = c.op](const std::vector<Var>& v) { return apply(op, v[0], v[1]); };
  EXPECT_TRUE(strided_inputs_match(f, inputs_for(c, rng)));
}

std::vector<ElementwiseCase> all_cases() {
  std::vector<ElementwiseCase> cs;
  for (BinOp op : {BinOp::add, BinOp::sub, BinOp::mul, BinOp::div})
    for (const BroadcastCase& s : kBroadcastCases) cs.push_back({op, s});
  return cs;
}

INSTANTIATE_TEST_SUITE_P(Ops, EveryBroadcast, ::testing::ValuesIn(all_cases()), [](const auto& info) {
  return std::string(name(info.param.op)) + "_" + info.param.shapes.label;
});

TEST(Elementwise, BroadcastGradientIsSummedOverBroadcastDims) {
  // a [2, 3] + b [3]: ∂b_j = Σ_i g_ij. Hand values: g rows {1,2,3} and {10,20,30} -> ∂b = {11,22,33}.
  Var a(Tensor({2, 3}), true), b(Tensor({3}), true);
  add(a, b).backward(Tensor::from({1, 2, 3, 10, 20, 30}, {2, 3}));
  EXPECT_TRUE(tensor_near(b.grad(), {11, 22, 33}, 1e-6));
  EXPECT_TRUE(tensor_near(a.grad(), {1, 2, 3, 10, 20, 30}, 1e-6));
}

TEST(Elementwise, ShapeErrorsNameTheOp) {
  Var a(Tensor({3, 4})), b(Tensor({3}));
  for (BinOp op : {BinOp::add, BinOp::sub, BinOp::mul, BinOp::div})
    EXPECT_TRUE(throws_error([&] { apply(op, a, b); }, name(op), "cannot be broadcast")) << name(op);
  EXPECT_TRUE(throws_error([&] { add(Var(Tensor({2, 3, 4})), Var(Tensor({3, 3, 4}))); }, "add", "dim 0: 2 vs 3"));
}

TEST(Elementwise, OperatorsCallTheOps) {
  Var a(Tensor::from({1, 2, 3}, {3})), b(Tensor::from({4, 5, 8}, {3}));
  EXPECT_TRUE(tensor_near((a + b).value(), {5, 7, 11}, 1e-7));
  EXPECT_TRUE(tensor_near((a - b).value(), {-3, -3, -5}, 1e-7));
  EXPECT_TRUE(tensor_near((a * b).value(), {4, 10, 24}, 1e-7));
  EXPECT_TRUE(tensor_near((a / b).value(), {0.25f, 0.4f, 0.375f}, 1e-7));
  EXPECT_TRUE(tensor_near((a * 2.0f).value(), {2, 4, 6}, 1e-7));
  EXPECT_TRUE(tensor_near((3.0f * a).value(), {3, 6, 9}, 1e-7));
  EXPECT_TRUE(tensor_near((a + 0.5f).value(), {1.5f, 2.5f, 3.5f}, 1e-7));
  EXPECT_TRUE(tensor_near((-a).value(), {-1, -2, -3}, 1e-7));
}

// ---- scalar ops --------------------------------------------------------------------------------

struct ScalarCase {
  const char* label;
  std::function<Var(const Var&)> op;
  std::function<double(double)> ref;
};

// gtest prints this instead of the raw bytes of the parameter when a case fails.
void PrintTo(const ScalarCase& c, std::ostream* os) { *os << c.label; }

const ScalarCase kScalar[] = {
    {"scale", [](const Var& x) { return scale(x, -2.5f); }, [](double x) { return -2.5 * x; }},
    {"add_scalar", [](const Var& x) { return add_scalar(x, 0.75f); }, [](double x) { return x + 0.75; }},
    {"neg", [](const Var& x) { return neg(x); }, [](double x) { return -x; }},
};

class ScalarOps : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(ScalarOps, GradientsMatchFiniteDifferences) {
  Rng rng(14);
  auto op = GetParam().op;
  EXPECT_TRUE(gradcheck_ok([op](const std::vector<Var>& v) { return op(v[0]); }, {random_tensor({2, 3, 2}, rng)}));
}

TEST_P(ScalarOps, ForwardAndStrided) {
  Rng rng(15);
  Tensor x = random_tensor({3, 4}, rng);
  std::vector<double> ref = values(x);
  for (double& v : ref) v = GetParam().ref(v);
  EXPECT_TRUE(tensor_near(GetParam().op(Var(x)).value(), tensor_of(ref, {3, 4}), 1e-6));
  auto op = GetParam().op;
  EXPECT_TRUE(strided_inputs_match([op](const std::vector<Var>& v) { return op(v[0]); }, {x}));
}

INSTANTIATE_TEST_SUITE_P(Ops, ScalarOps, ::testing::ValuesIn(kScalar),
                         [](const auto& info) { return std::string(info.param.label); });

}  // namespace
