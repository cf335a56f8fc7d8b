// Parity with PyTorch 1.13 on the fixtures of scripts/fixtures/make_attention_fixtures.py:
// nn.MultiheadAttention, nn.TransformerEncoderLayer and nn.TransformerDecoderLayer (pre- and
// post-LN, GELU and ReLU, batch- and time-first, causal / padding / additive masks), and the
// script's torch versions of additive (Bahdanau) and multiplicative (Luong) attention. Checked:
// the output, every input's gradient and every parameter's gradient of L = Σ output ⊙ grad_output.
// The oracle ran in float64; we run float32: 1e-5 relative or 1e-6 absolute (the bound).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/classic_attention.h"
#include "recurrent/nn/transformer.h"

using namespace recurrent;
using namespace recurrent::testing;
using recurrent::io::read_safetensors;
using recurrent::io::SafeTensors;

namespace {

std::vector<std::string> fixture_files() {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(std::string(RECURRENT_TEST_DATA) + "/attention"))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct Fixture {
  SafeTensors f;
  std::string meta(const char* k) const { return f.metadata_or(k, ""); }
  int64_t num(const char* k) const { return std::stoll(meta(k)); }
  bool flag(const char* k) const { return meta(k) == "true"; }
};

void check_fixture(const std::string& path) {
  SCOPED_TRACE(path);
  Fixture fx{read_safetensors(path)};
  const std::string kind = fx.meta("module");
  Rng rng(0);
  std::map<std::string, Var> inputs;
  auto in = [&](const char* name) { return inputs[name] = Var(fx.f.get_f32(name), true); };
  AttentionMasks m;
  m.causal = fx.flag("causal");
  if (fx.f.contains("key_padding")) m.key_padding = fx.f.get_f32("key_padding");
  if (fx.f.contains("attn_mask")) m.attn_mask = fx.f.get_f32("attn_mask");
  TransformerLayerOptions lo;
  lo.d_model = fx.num("D");
  lo.heads = fx.num("H");
  lo.ff = fx.num("F");
  lo.dropout = 0.0f;
  lo.activation = fx.meta("activation") == "relu" ? Activation::relu : Activation::gelu;
  lo.norm_first = fx.flag("norm_first");
  lo.batch_first = fx.flag("batch_first");

  std::shared_ptr<Module> mod;
  std::function<Var()> forward;
  if (kind == "mha") {
    auto a = std::make_shared<MultiheadAttention>(lo.d_model, lo.heads, 0.0f, lo.batch_first, rng);
    mod = a;
    Var q = in("query");
    if (fx.flag("cross")) {
      Var k = in("key"), v = in("value");
      forward = [=] { return a->forward(q, k, v, m); };
    } else {
      forward = [=] { return a->self_attention(q, m); };
    }
  } else if (kind == "encoder") {
    auto e = std::make_shared<TransformerEncoderLayer>(lo, rng);
    mod = e;
    Var x = in("query");
    forward = [=] { return e->forward(x, m); };
  } else if (kind == "decoder") {
    auto d = std::make_shared<TransformerDecoderLayer>(lo, rng);
    mod = d;
    Var x = in("query"), mem = in("memory");
    AttentionMasks self_m, mem_m;
    self_m.causal = m.causal;
    if (fx.f.contains("memory_key_padding")) mem_m.key_padding = fx.f.get_f32("memory_key_padding");
    forward = [=] { return d->forward(x, mem, self_m, mem_m); };
  } else {
    Var q = in("query"), k = in("keys"), v = in("values");
    if (kind == "additive") {
      auto a = std::make_shared<AdditiveAttention>(fx.num("Dq"), fx.num("Dk"), fx.num("A"), rng);
      mod = a;
      forward = [=] { return a->forward(q, k, v, m).context; };
    } else {
      ASSERT_EQ(kind, "luong");
      auto a = std::make_shared<MultiplicativeAttention>(fx.flag("general") ? LuongScore::general : LuongScore::dot,
                                                         fx.num("Dq"), fx.num("Dk"), fx.flag("scaled"), rng);
      mod = a;
      forward = [=] { return a->forward(q, k, v, m).context; };
    }
  }
  for (auto& [name, p] : mod->named_parameters()) {
    ASSERT_TRUE(fx.f.contains(name)) << "fixture lacks parameter " << name;
    p.value().copy_(fx.f.get_f32(name));
  }
  for (const auto& name : fx.f.names()) {  // every fixture parameter exists here too (no silent extras)
    const std::string base = name.size() > 5 ? name.substr(0, name.size() - 5) : "";
    if (name.ends_with(".grad") && !inputs.count(base)) {
      EXPECT_TRUE(mod->has_parameter(base)) << name;
    }
  }

  Var out = forward();
  sum(mul(out, Var(fx.f.get_f32("grad_output")))).backward();
  const double atol = 1e-6, rtol = 1e-5;
  EXPECT_TRUE(tensor_near(out.value(), fx.f.get_f32("output"), atol, rtol)) << "output";
  for (auto& [name, v] : inputs) EXPECT_TRUE(tensor_near(v.grad(), fx.f.get_f32(name + ".grad"), atol, rtol)) << name;
  for (auto& [name, p] : mod->named_parameters())
    EXPECT_TRUE(tensor_near(p.grad(), fx.f.get_f32(name + ".grad"), atol, rtol)) << name << ".grad";
}

TEST(AttentionPyTorch, AllFixturesMatch) {
  const auto files = fixture_files();
  ASSERT_GE(files.size(), 11u) << "fixtures missing: run scripts/fixtures/make_attention_fixtures.py";
  for (const auto& p : files) check_fixture(p);
}

}  // namespace
