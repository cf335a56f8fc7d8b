// The tape itself (src/autograd/var.cpp, multi_output.cpp): gradients of a node used several times
// add up, grad mode, detach, errors of backward(), accumulation across backward calls, release of
// the graph, deep chains, and multi-output ops (gradients gathered per output, zeros for unused
// outputs).
//
// Tolerance: gradcheck.h's defaults (the composed functions are smooth with fan-out ≤ 3 on [-1, 1]).
#include <gtest/gtest.h>

#include "autograd/op_test_util.h"
#include "recurrent/autograd/multi_output.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

TEST(Tape, ANodeUsedTwiceGetsBothGradients) {
  Rng rng(121);
  // x feeds mul as both operands and tanh: ∂x = 2x·g + (1 − tanh²x)·g
  auto f = [](const std::vector<Var>& v) { return add(mul(v[0], v[0]), recurrent::tanh(v[0])); };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3}, rng)}));
  // a diamond: h = tanh(x) is used by two branches that meet again
  auto g = [](const std::vector<Var>& v) {
    Var h = recurrent::tanh(v[0]);
    return mul(sigmoid(h), add(h, v[1]));
  };
  EXPECT_TRUE(gradcheck_ok(g, {random_tensor({2, 3}, rng), random_tensor({3}, rng)}));
}

TEST(Tape, SquareByHand) {
  Var x(Tensor::from({3.0f}, {1}), true);
  mul(x, x).backward();
  EXPECT_EQ(x.grad().item(), 6.0f);
}

TEST(Tape, NoGradGuardRecordsNothingAndRestores) {
  Var x(Tensor::ones({2}), true);
  EXPECT_TRUE(grad_enabled());
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      EXPECT_FALSE(grad_enabled());
    }
    EXPECT_FALSE(grad_enabled());  // the inner guard restores the outer state, not "on"
    Var y = mul(x, x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.node()->inputs.empty());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(mul(x, x).requires_grad());
}

TEST(Tape, ConstantsRecordNoNode) {
  Var a(Tensor::ones({2})), b(Tensor::ones({2}));
  Var y = add(a, b);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_TRUE(throws_error([&] { sum(y).backward(); }, "backward", "does not depend on anything"));
}

TEST(Tape, DetachCutsTheGradient) {
  // y = x ⊙ detach(x): ∂x = detach(x)·g = x (not 2x)
  Var x(Tensor::from({1, -2, 3}, {3}), true);
  mul(x, x.detach()).backward(Tensor::ones({3}));
  EXPECT_TRUE(tensor_near(x.grad(), {1, -2, 3}, 1e-30));
}

TEST(Tape, BackwardNeedsAScalarOrASeed) {
  Var x(Tensor::ones({2, 2}), true);
  Var y = mul(x, x);
  EXPECT_TRUE(throws_error([&] { y.backward(); }, "backward", "needs a scalar"));
  EXPECT_TRUE(throws_error([&] { y.backward(Tensor::ones({4})); }, "mul", "gradient of shape [4]"));
}

TEST(Tape, LeafGradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Var x(Tensor::from({1, 2}, {2}), true);
  sum(scale(x, 3.0f)).backward();
  sum(scale(x, 3.0f)).backward();
  EXPECT_TRUE(tensor_near(x.grad(), {6, 6}, 1e-30));
  x.zero_grad();
  EXPECT_TRUE(tensor_near(x.grad(), {0, 0}, 1e-30));
  sum(x).backward();
  EXPECT_TRUE(tensor_near(x.grad(), {1, 1}, 1e-30));
}

TEST(Tape, BackwardReleasesTheGraph) {
  Var x(Tensor::ones({2}), true);
  Var h = recurrent::tanh(x);
  Var y = sum(h);
  y.backward();
  EXPECT_FALSE(h.has_grad());                // intermediate gradients are dropped
  EXPECT_TRUE(h.node()->inputs.empty());     // and so are the edges (no cycles, memory freed)
  EXPECT_FALSE(static_cast<bool>(h.node()->backward));
  EXPECT_TRUE(y.has_grad());                 // the root keeps its seed
  EXPECT_TRUE(x.has_grad());
}

TEST(Tape, DeepChainNeedsNoRecursion) {
  // 20000 nodes: a recursive topological sort would risk the stack (ASan builds have less of it).
  Var x(Tensor::from({0.5f}, {1}), true);
  Var y = x;
  for (int i = 0; i < 20000; ++i) y = add_scalar(y, 1e-4f);
  sum(y).backward();
  EXPECT_EQ(x.grad().item(), 1.0f);
  EXPECT_NEAR(y.value().item(), 2.5f, 1e-3);
}

TEST(Tape, DroppingADeepGraphWithoutBackwardNeedsNoRecursion) {
  // A graph that is never differentiated (e.g. a long generation loop run with grad mode on) is
  // freed when its last Var goes: freeing node by node recursively would take one stack frame per
  // node. 200000 nodes overflow an 8 MB stack at ≥ 40 bytes a frame.
  Var x(Tensor::from({0.5f}, {1}), true);
  Var y = x;
  for (int i = 0; i < 200000; ++i) y = add_scalar(y, 1e-6f);
  EXPECT_TRUE(y.requires_grad());
  y = Var();  // frees the chain
  EXPECT_FALSE(x.has_grad());
}

// ---- multi-output ops ---------------------------------------------------------------------------

// (s, p) = (a + b, a ⊙ b):  ∂a = g_s + g_p ⊙ b,  ∂b = g_s + g_p ⊙ a
std::vector<Var> sum_and_product(const Var& a, const Var& b, std::vector<Tensor>* seen_grads = nullptr) {
  Tensor av = a.value().contiguous(), bv = b.value().contiguous();
  Tensor s(av.shape()), p(av.shape());
  for (int64_t i = 0; i < s.numel(); ++i) {
    s.data()[i] = av.data()[i] + bv.data()[i];
    p.data()[i] = av.data()[i] * bv.data()[i];
  }
  return make_multi_op("sum_and_product", {s, p}, {a, b}, [av, bv, seen_grads](const std::vector<Tensor>& g, Node& hub) {
    if (seen_grads) *seen_grads = {g[0].clone(), g[1].clone()};
    Tensor ga(av.shape()), gb(av.shape());
    for (int64_t i = 0; i < ga.numel(); ++i) {
      ga.data()[i] = g[0].data()[i] + g[1].data()[i] * bv.data()[i];
      gb.data()[i] = g[0].data()[i] + g[1].data()[i] * av.data()[i];
    }
    if (needs_grad(hub, 0)) accumulate_grad(*hub.inputs[0], ga);
    if (needs_grad(hub, 1)) accumulate_grad(*hub.inputs[1], gb);
  });
}

TEST(MultiOutput, GradientsMatchFiniteDifferences) {
  Rng rng(122);
  // Both outputs used, one of them twice (its gradients from both uses are gathered).
  auto f = [](const std::vector<Var>& v) {
    auto o = sum_and_product(v[0], v[1]);
    return concat({recurrent::tanh(o[0]), o[1], mul(o[1], o[0])}, 0);
  };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3}, rng), random_tensor({2, 3}, rng)}));
  GradCheckOptions only_b;
  only_b.check = {false, true};
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({2, 3}, rng), random_tensor({2, 3}, rng)}, only_b));
}

TEST(MultiOutput, AnUnusedOutputGetsZeros) {
  Var a(Tensor::from({1, 2}, {2}), true), b(Tensor::from({3, 4}, {2}), true);
  std::vector<Tensor> seen;
  auto o = sum_and_product(a, b, &seen);
  o[1].backward(Tensor::from({10, 20}, {2}));  // only the product
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(tensor_near(seen[0], {0, 0}, 1e-30));
  EXPECT_TRUE(tensor_near(seen[1], {10, 20}, 1e-30));
  EXPECT_TRUE(tensor_near(a.grad(), {30, 80}, 1e-30));  // g_p ⊙ b
  EXPECT_TRUE(tensor_near(b.grad(), {10, 40}, 1e-30));  // g_p ⊙ a
}

}  // namespace
