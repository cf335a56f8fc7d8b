// Parity of recurrent dropout and zoneout with the small PyTorch implementation written from the papers'
// equations in scripts/fixtures/make_rnn_reg_fixtures.py (PyTorch has neither): the same masks fed in
// (RNN::set_recurrent_masks), outputs, final states, input / initial-state gradients and every weight
// gradient of L = Σ output ⊙ grad_output + Σ h_n ⊙ grad_h_n [+ Σ c_n ⊙ grad_c_n], on every SIMD target and
// the reference engine. The oracle ran in float64: 1e-5 relative + 1e-6 absolute (the bound; the
// layer-norm cells' float32 engine: see check_fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "autograd/gradcheck.h"
#include "kernels/simd_targets.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/rnn.h"

using namespace recurrent;
using namespace recurrent::testing;
using recurrent::io::read_safetensors;
using recurrent::io::SafeTensors;

namespace {

std::vector<std::string> fixture_files_rnn_regularisers_pytorch() {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(std::string(RECURRENT_TEST_DATA) + "/rnn_reg"))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Var dot_rnn_regularisers_pytorch(const Var& a, const Tensor& seed) { return sum(mul(a, Var(seed))); }

void check_fixture_rnn_regularisers_pytorch(const std::string& path) {
  SCOPED_TRACE(path);
  SafeTensors f = read_safetensors(path);
  auto meta = [&](const char* k) { return f.metadata_or(k, ""); };
  const CellType cell = parse_cell(meta("cell"));
  const int64_t L = std::stoll(meta("num_layers")), H = std::stoll(meta("hidden_size")),
                I = std::stoll(meta("input_size"));
  RNNOptions o = RNNOptions::uniform(cell, I, H, L, meta("bidirectional") == "true");
  for (LayerSpec& s : o.layers) s.recurrent_dropout = std::stof(meta("recurrent_dropout")), s.zoneout = std::stof(meta("zoneout"));
  Rng rng(0);
  RNN rnn(o, rng);
  for (auto& [name, p] : rnn.named_parameters()) p.value().copy_(f.get_f32(name));
  const int64_t D = o.directions();
  std::vector<Tensor> rmask, zmask;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      rmask.push_back(f.contains("rmask" + sfx) ? f.get_f32("rmask" + sfx) : Tensor());
      zmask.push_back(f.contains("zmask" + sfx) ? f.get_f32("zmask" + sfx) : Tensor());
    }
  rnn.set_recurrent_masks(rmask, zmask);

  Var x(f.get_f32("input"), true);
  std::vector<int64_t> lengths = f.contains("lengths") ? f.get_i64("lengths") : std::vector<int64_t>{};
  const bool lstm = has_cell_state(cell);
  RNNState init;
  Var h0, c0;
  if (f.contains("h0")) {  // [L*D, B, H] split into per-layer [D, B, H]
    h0 = Var(f.get_f32("h0"), true);
    for (int64_t l = 0; l < L; ++l) init.h.push_back(slice(h0, 0, l * D, (l + 1) * D));
    if (lstm) {
      c0 = Var(f.get_f32("c0"), true);
      for (int64_t l = 0; l < L; ++l) init.c.push_back(slice(c0, 0, l * D, (l + 1) * D));
    }
  }
  RNNOutput out = rnn.forward(x, lengths, init);
  Var h_n = concat(out.final_state.h, 0);
  Var loss = add(dot_rnn_regularisers_pytorch(out.output, f.get_f32("grad_output")), dot_rnn_regularisers_pytorch(h_n, f.get_f32("grad_h_n")));
  Var c_n;
  if (lstm) {
    c_n = concat(out.final_state.c, 0);
    loss = add(loss, dot_rnn_regularisers_pytorch(c_n, f.get_f32("grad_c_n")));
  }
  loss.backward();
  // The layer-norm LSTM/GRU in float32: the norms' backward subtracts means of cancelling terms, and float32
  // PyTorch itself misses its float64 answer by 0.3–1× this bound on these cases (0.34–0.39 on the committed
  // ones, the fixture script refuses cases above 0.5) and by up to 45× on random draws. The fused engine
  // meets the 1e-5 relative + 1e-6 absolute on every target with fused multiply-add (worst 0.87× of
  // the bound on AVX-512, 0.66× on AVX2: a W_ih gradient element of the 2-layer case, once the LSTM's gate
  // derivatives come from the pre-activations, math-inl.h SigmoidWithGrad; from the values: 1.45× on AVX-512);
  // without FMA (sse4, ssse3: two roundings per multiply-add in every product) it lands at 1.6×, held there
  // to twice the bound. The double reference engine: 1e-5 / 1e-6 on every fixture (below).
  const bool f32_ln = is_layer_norm(cell) && rnn_engine() == RnnEngine::fast;
  const double loose = f32_ln && !simd::fma_target(simd::default_target()) ? 2.0 : 1.0;
  const double atol = 1e-6 * loose, rtol = 1e-5 * loose;
  EXPECT_TRUE(tensor_near(out.output.value(), f.get_f32("output"), atol, rtol)) << "output";
  EXPECT_TRUE(tensor_near(h_n.value(), f.get_f32("h_n"), atol, rtol)) << "h_n";
  if (lstm) { EXPECT_TRUE(tensor_near(c_n.value(), f.get_f32("c_n"), atol, rtol)) << "c_n"; }
  EXPECT_TRUE(tensor_near(x.grad(), f.get_f32("input.grad"), atol, rtol)) << "input.grad";
  if (h0.defined()) { EXPECT_TRUE(tensor_near(h0.grad(), f.get_f32("h0.grad"), atol, rtol)) << "h0.grad"; }
  if (c0.defined()) { EXPECT_TRUE(tensor_near(c0.grad(), f.get_f32("c0.grad"), atol, rtol)) << "c0.grad"; }
  for (auto& [name, p] : rnn.named_parameters())
    EXPECT_TRUE(tensor_near(p.grad(), f.get_f32(name + ".grad"), atol, rtol)) << name << ".grad";
}

class RegularisedPyTorchParity : public ::testing::TestWithParam<int64_t> {};

TEST_P(RegularisedPyTorchParity, AllFixtures) {
  const ScopedTarget target(GetParam());
  const auto files = fixture_files_rnn_regularisers_pytorch();
  ASSERT_GE(files.size(), 12u) << "fixtures missing in " << RECURRENT_TEST_DATA << "/rnn_reg";
  for (const auto& p : files) check_fixture_rnn_regularisers_pytorch(p);
}

INSTANTIATE_TEST_SUITE_P(Targets, RegularisedPyTorchParity, ::testing::ValuesIn(simd::cpu_targets()), TargetName());

TEST(RegularisedPyTorchParityReference, ReferenceEngine) {
  set_rnn_engine(RnnEngine::reference);
  for (const auto& p : fixture_files_rnn_regularisers_pytorch()) check_fixture_rnn_regularisers_pytorch(p);
  set_rnn_engine(RnnEngine::fast);
}

}  // namespace
