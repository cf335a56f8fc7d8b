// Module (src/nn/module.cpp): hierarchical parameter names in PyTorch's order, ModuleList
// numbering, parameter lookup, iteration and count, weight tying (one parameter, listed once),
// train/eval propagation to every descendant (observed through the RNN's inter-layer dropout),
// zero_grad over the whole tree, and name errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

constexpr int64_t kI = 3, kH = 4, kO = 2, kT = 5, kB = 2;

// y = x·Wᵀ + b with PyTorch Linear's names. Reads its parameters by name, so replace_parameter
// (weight tying) takes effect.
struct Dense : Module {
  Dense(int64_t in, int64_t out, Rng& rng) {
    register_parameter("weight", random_tensor({out, in}, rng));
    register_parameter("bias", random_tensor({out}, rng));
  }
  Var forward(const Var& x) const { return linear(x, parameter("weight"), parameter("bias")); }
};

// encoder.layers.0: a 2-layer GRU with dropout between its layers; encoder.layers.1: a 1-layer GRU.
struct Encoder : Module {
  std::shared_ptr<ModuleList> layers;
  Encoder(float dropout, Rng& rng) {
    layers = register_module("layers", std::make_shared<ModuleList>());
    RNNOptions first = RNNOptions::uniform(CellType::gru, kI, kH, 2);
    first.dropout = dropout;
    layers->push_back(std::make_shared<RNN>(first, rng));
    layers->push_back(std::make_shared<RNN>(RNNOptions::uniform(CellType::gru, kH, kH, 1), rng));
  }
  Var forward(Var x) const {
    for (size_t i = 0; i < layers->size(); ++i) x = std::static_pointer_cast<RNN>((*layers)[i])->forward(x).output;
    return x;
  }
};

// `scale` is registered after the children yet listed first: PyTorch lists a module's own
// parameters before its children's.
struct Model : Module {
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Dense> decoder;
  explicit Model(Rng& rng, float dropout = 0.0f) {
    encoder = register_module("encoder", std::make_shared<Encoder>(dropout, rng));
    decoder = register_module("decoder", std::make_shared<Dense>(kH, kO, rng));
    register_parameter("scale", Tensor::full({1}, 0.5f));
  }
  Var forward(const Var& x) const { return mul(decoder->forward(encoder->forward(x)), parameter("scale")); }
  // Exposes the protected registration for the error tests.
  using Module::register_module;
  using Module::register_parameter;
};

const std::vector<std::string> kNames = {
    "scale",
    "encoder.layers.0.weight_ih_l0", "encoder.layers.0.weight_hh_l0",
    "encoder.layers.0.bias_ih_l0",   "encoder.layers.0.bias_hh_l0",
    "encoder.layers.0.weight_ih_l1", "encoder.layers.0.weight_hh_l1",
    "encoder.layers.0.bias_ih_l1",   "encoder.layers.0.bias_hh_l1",
    "encoder.layers.1.weight_ih_l0", "encoder.layers.1.weight_hh_l0",
    "encoder.layers.1.bias_ih_l0",   "encoder.layers.1.bias_hh_l0",
    "decoder.weight",                "decoder.bias",
};

std::vector<std::string> names_of(const Module& m, bool remove_duplicate = true) {
  std::vector<std::string> out;
  for (auto& [n, v] : m.named_parameters(remove_duplicate)) out.push_back(n);
  return out;
}

TEST(Module, HierarchicalNamesInPyTorchOrder) {
  Rng rng(1);
  Model m(rng);
  EXPECT_EQ(names_of(m), kNames);
  // A subtree names its parameters relative to itself.
  EXPECT_EQ(names_of(*m.encoder->layers->operator[](1)),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}));
  EXPECT_EQ(names_of(*m.decoder), (std::vector<std::string>{"weight", "bias"}));
}

TEST(Module, ParametersMatchNamedParametersAndCount) {
  Rng rng(2);
  Model m(rng);
  auto named = m.named_parameters();
  auto params = m.parameters();
  ASSERT_EQ(params.size(), kNames.size());
  int64_t numel = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i].node(), named[i].second.node()) << named[i].first;
    EXPECT_TRUE(params[i].requires_grad()) << named[i].first;
    numel += params[i].value().numel();
  }
  // Hand count: GRU G = 3, H = 4. layers.0 l0: 12·3 + 12·4 + 12 + 12 = 108; l1: 12·4·2 + 24 = 120;
  // layers.1: 120; decoder 2·4 + 2 = 10; scale 1.
  EXPECT_EQ(numel, 108 + 120 + 120 + 10 + 1);
  EXPECT_EQ(m.num_parameters(), numel);
}

TEST(Module, LookupByFullName) {
  Rng rng(3);
  Model m(rng);
  auto rnn1 = std::static_pointer_cast<RNN>((*m.encoder->layers)[1]);
  EXPECT_EQ(m.parameter("encoder.layers.1.weight_hh_l0").node(), rnn1->param("weight_hh", 0, 0).node());
  EXPECT_EQ(m.parameter("decoder.bias").shape(), (Shape{kO}));
  EXPECT_TRUE(m.has_parameter("encoder.layers.0.bias_hh_l1"));
  EXPECT_FALSE(m.has_parameter("encoder.layers.2.weight_ih_l0"));
  EXPECT_FALSE(m.has_parameter("encoder.layers.0"));  // a module, not a parameter
  try {
    m.parameter("decoder.weight_ih_l0");
    ADD_FAILURE() << "no Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "decoder.weight_ih_l0");
  }
  EXPECT_THROW((*m.encoder->layers)[2], Error);
}

TEST(Module, TiedWeightIsListedOnceAndGetsBothGradients) {
  // Tie a Dense [4 -> 4]'s weight into another one: one Var under two names.
  struct Twin : Module {
    std::shared_ptr<Dense> a, b;
    explicit Twin(Rng& rng) {
      a = register_module("a", std::make_shared<Dense>(kH, kH, rng));
      b = register_module("b", std::make_shared<Dense>(kH, kH, rng));
      b->replace_parameter("weight", a->parameter("weight"));
    }
  };
  Rng rng(4);
  Twin t(rng);
  EXPECT_EQ(names_of(t), (std::vector<std::string>{"a.weight", "a.bias", "b.bias"}));
  EXPECT_EQ(names_of(t, false), (std::vector<std::string>{"a.weight", "a.bias", "b.weight", "b.bias"}));
  EXPECT_EQ(t.parameters().size(), 3u);
  EXPECT_EQ(t.num_parameters(), 16 + 4 + 4);
  EXPECT_EQ(t.parameter("b.weight").node(), t.parameter("a.weight").node());  // lookup by either name
  // The gradient of the shared weight sums both uses: check against finite differences.
  auto f = [&t](const std::vector<Var>& v) {
    t.a->replace_parameter("weight", v[1]);
    t.b->replace_parameter("weight", v[1]);
    return t.b->forward(recurrent::tanh(t.a->forward(v[0])));
  };
  EXPECT_TRUE(gradcheck_ok(f, {random_tensor({kB, kH}, rng), t.parameter("a.weight").value()}));
}

TEST(Module, TrainEvalReachesEveryDescendant) {
  Rng rng(5);
  Model m(rng);
  auto all_modes = [&m] {
    std::vector<bool> modes{m.is_training(), m.encoder->is_training(), m.encoder->layers->is_training(),
                            m.decoder->is_training()};
    for (size_t i = 0; i < m.encoder->layers->size(); ++i) modes.push_back((*m.encoder->layers)[i]->is_training());
    return modes;
  };
  const std::vector<bool> on(6, true), off(6, false);
  EXPECT_EQ(all_modes(), on);  // modules start in training mode, as in PyTorch
  m.eval();
  EXPECT_EQ(all_modes(), off);
  m.train();
  EXPECT_EQ(all_modes(), on);
  m.train(false);
  EXPECT_EQ(all_modes(), off);
  // Switching a subtree leaves its parent and siblings alone.
  m.train();
  m.encoder->eval();
  EXPECT_EQ(all_modes(), (std::vector<bool>{true, false, false, true, false, false}));
}

TEST(Module, EvalModeSwitchesOffDropoutInsideNestedLayers) {
  // encoder.layers.0 has dropout 0.5 between its two GRU layers. The mode is set on the top-level
  // model only; the RNN three levels down must see it.
  Rng rng(6);
  Model m(rng, 0.5f);
  Tensor x = random_tensor({kT, kB, kI}, rng);
  auto run = [&] { return m.forward(Var(x)).value().clone(); };
  m.eval();
  Tensor e1 = run(), e2 = run();
  EXPECT_TRUE(tensor_near(e1, e2, 0.0 + 1e-30));  // deterministic: no dropout masks drawn
  m.train();
  Tensor t1 = run(), t2 = run();
  EXPECT_FALSE(tensor_near(t1, e1, 1e-6)) << "training mode did not apply dropout";
  EXPECT_FALSE(tensor_near(t1, t2, 1e-6)) << "two training passes drew the same dropout mask";
  m.eval();
  EXPECT_TRUE(tensor_near(run(), e1, 0.0 + 1e-30));
}

TEST(Module, ZeroGradClearsEveryGradientInTheTree) {
  Rng rng(7);
  Model m(rng);
  sum(m.forward(Var(random_tensor({kT, kB, kI}, rng)))).backward();
  for (auto& [n, p] : m.named_parameters()) {
    ASSERT_TRUE(p.has_grad()) << n;
    double s = 0.0;
    for (int64_t i = 0; i < p.grad().numel(); ++i) s += std::fabs(p.grad().data()[i]);
    EXPECT_GT(s, 0.0) << n << " got no gradient";
  }
  m.zero_grad();
  for (auto& [n, p] : m.named_parameters()) EXPECT_TRUE(tensor_near(p.grad(), Tensor(p.shape()), 1e-30)) << n;
  // Gradients accumulate from zero again: two identical backward passes give twice one.
  Tensor x = random_tensor({kT, kB, kI}, rng);
  sum(m.forward(Var(x))).backward();
  Tensor once = m.parameter("decoder.weight").grad().clone();
  sum(m.forward(Var(x))).backward();
  Tensor twice = once.clone();
  for (int64_t i = 0; i < twice.numel(); ++i) twice.data()[i] *= 2.0f;
  EXPECT_TRUE(tensor_near(m.parameter("decoder.weight").grad(), twice, 1e-6, 1e-6));
}

TEST(Module, ZeroGradLeavesUntouchedParametersWithoutGradient) {
  Rng rng(8);
  Model m(rng);
  m.zero_grad();  // nothing allocated yet: still nothing
  for (auto& [n, p] : m.named_parameters()) EXPECT_FALSE(p.has_grad()) << n;
}

TEST(Module, NameErrors) {
  Rng rng(9);
  Model m(rng);
  auto expect_error = [](auto&& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no Error for " << part;
    } catch (const Error& e) {
      EXPECT_NE(e.message().find(part), std::string::npos) << e.what();
    }
  };
  expect_error([&] { m.register_parameter("scale", Tensor({1})); }, "'scale' is already a parameter");
  expect_error([&] { m.register_parameter("decoder", Tensor({1})); }, "'decoder' is already a child module");
  expect_error([&] { m.register_module("scale", std::make_shared<Module>()); }, "'scale' is already a parameter");
  expect_error([&] { m.register_module("encoder", std::make_shared<Module>()); }, "already a child module");
  expect_error([&] { m.register_parameter("", Tensor({1})); }, "non-empty name");
  expect_error([&] { m.register_module("extra", std::shared_ptr<Module>()); }, "is null");
  expect_error([&] { m.decoder->replace_parameter("weight", Var(Tensor({3, 3}))); }, "expected shape [2, 4]");
  EXPECT_EQ(names_of(m), kNames);  // failed registrations left nothing behind
}

}  // namespace
