// Parity with PyTorch 1.13's nn.RNN / nn.LSTM / nn.GRU on the fixtures of
// scripts/fixtures/make_rnn_fixtures.py (docs/fixtures.md), and with the scan cells written in torch from
// their papers (scripts/fixtures/make_scan_fixtures.py): outputs, final states, the input and
// initial-state gradients and every weight gradient of
//   L = Σ output ⊙ grad_output + Σ h_n ⊙ grad_h_n [+ Σ c_n ⊙ grad_c_n].
// The oracle ran in float64; we run float32, so agreement is bounded by float32 rounding over a few
// steps: 1e-5 relative or 1e-6 absolute for tiny values (the bound).
#include <gtest/gtest.h>

#include "kernels/simd_targets.h"

#include <algorithm>
#include <filesystem>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/rnn.h"

using namespace recurrent;
using namespace recurrent::testing;
using recurrent::io::read_safetensors;
using recurrent::io::SafeTensors;

namespace {

// dir "rnn": torch.nn.RNN / LSTM / GRU (make_rnn_fixtures.py); "scan": minGRU, minLSTM and RG-LRU written in
// torch from their papers' equations (make_scan_fixtures.py), same format.
std::vector<std::string> fixture_files_rnn_pytorch(const char* dir = "rnn") {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(std::string(RECURRENT_TEST_DATA) + "/" + dir))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Σ a ⊙ seed as a tape expression.
Var dot(const Var& a, const Tensor& seed) { return sum(mul(a, Var(seed))); }

void check_fixture_rnn_pytorch(const std::string& path) {
  SCOPED_TRACE(path);
  SafeTensors f = read_safetensors(path);
  auto meta = [&](const char* k) { return f.metadata_or(k, ""); };
  const CellType cell = parse_cell(meta("cell"));
  const int64_t L = std::stoll(meta("num_layers")), H = std::stoll(meta("hidden_size")),
                I = std::stoll(meta("input_size")), P = std::stoll(meta("proj_size"));
  RNNOptions o = RNNOptions::uniform(cell, I, H, L, meta("bidirectional") == "true", P);
  o.batch_first = meta("batch_first") == "true";
  Rng rng(0);
  RNN rnn(o, rng);
  for (auto& [name, p] : rnn.named_parameters()) p.value().copy_(f.get_f32(name));

  Var x(f.get_f32("input"), true);
  std::vector<int64_t> lengths = f.contains("lengths") ? f.get_i64("lengths") : std::vector<int64_t>{};
  const int64_t D = o.directions(), R = P > 0 ? P : H;
  RNNState init;
  Var h0, c0;
  if (f.contains("h0")) {  // PyTorch's [L*D, B, R] split into our per-layer [D, B, R]
    h0 = Var(f.get_f32("h0"), true);
    for (int64_t l = 0; l < L; ++l) init.h.push_back(slice(h0, 0, l * D, (l + 1) * D));
    if (is_lstm(cell)) {
      c0 = Var(f.get_f32("c0"), true);
      for (int64_t l = 0; l < L; ++l) init.c.push_back(slice(c0, 0, l * D, (l + 1) * D));
    }
  }
  RNNOutput out = rnn.forward(x, lengths, init);
  Var h_n = concat(out.final_state.h, 0);
  Var loss = add(dot(out.output, f.get_f32("grad_output")), dot(h_n, f.get_f32("grad_h_n")));
  Var c_n;
  if (is_lstm(cell)) {
    c_n = concat(out.final_state.c, 0);
    loss = add(loss, dot(c_n, f.get_f32("grad_c_n")));
  }
  loss.backward();

  const double atol = 1e-6, rtol = 1e-5;
  EXPECT_TRUE(tensor_near(out.output.value(), f.get_f32("output"), atol, rtol)) << "output";
  EXPECT_TRUE(tensor_near(h_n.value(), f.get_f32("h_n"), atol, rtol)) << "h_n";
  if (is_lstm(cell)) { EXPECT_TRUE(tensor_near(c_n.value(), f.get_f32("c_n"), atol, rtol)) << "c_n"; }
  EXPECT_TRUE(tensor_near(x.grad(), f.get_f32("input.grad"), atol, rtol)) << "input.grad";
  if (h0.defined()) { EXPECT_TRUE(tensor_near(h0.grad(), f.get_f32("h0.grad"), atol, rtol)) << "h0.grad"; }
  if (c0.defined()) { EXPECT_TRUE(tensor_near(c0.grad(), f.get_f32("c0.grad"), atol, rtol)) << "c0.grad"; }
  int checked = 0;
  for (auto& [name, p] : rnn.named_parameters()) {
    EXPECT_TRUE(tensor_near(p.grad(), f.get_f32(name + ".grad"), atol, rtol)) << name << ".grad";
    ++checked;
  }
  EXPECT_GT(checked, 0);
  (void)R;
}

// Every fixture on every SIMD target this CPU runs (the fused loops of each target's kernels).
class RnnPyTorchParity : public ::testing::TestWithParam<int64_t> {};

TEST_P(RnnPyTorchParity, AllFixtures) {
  const recurrent::testing::ScopedTarget target(GetParam());
  auto files = fixture_files_rnn_pytorch();
  ASSERT_GE(files.size(), 20u) << "fixtures missing in " << RECURRENT_TEST_DATA << "/rnn";
  for (const auto& p : files) check_fixture_rnn_pytorch(p);
}

INSTANTIATE_TEST_SUITE_P(Targets, RnnPyTorchParity, ::testing::ValuesIn(simd::cpu_targets()),
                         recurrent::testing::TargetName());

TEST(RnnPyTorchParityReference, ReferenceEngine) {
  set_rnn_engine(RnnEngine::reference);
  for (const auto& p : fixture_files_rnn_pytorch()) check_fixture_rnn_pytorch(p);
  for (const auto& p : fixture_files_rnn_pytorch("scan")) check_fixture_rnn_pytorch(p);
  set_rnn_engine(RnnEngine::fast);
}

// The scan cells on every SIMD target, and with the scalar rows (EngineConfig::fused = -1).
class ScanPyTorchParity : public ::testing::TestWithParam<int64_t> {};

TEST_P(ScanPyTorchParity, AllFixtures) {
  const recurrent::testing::ScopedTarget target(GetParam());
  auto files = fixture_files_rnn_pytorch("scan");
  ASSERT_GE(files.size(), 9u) << "fixtures missing in " << RECURRENT_TEST_DATA << "/scan";
  for (const auto& p : files) check_fixture_rnn_pytorch(p);
}

INSTANTIATE_TEST_SUITE_P(Targets, ScanPyTorchParity, ::testing::ValuesIn(simd::cpu_targets()),
                         recurrent::testing::TargetName());

TEST(ScanPyTorchParityScalarRows, AllFixtures) {
  const EngineConfig saved = default_engine();
  EngineConfig e = saved;
  e.fused = -1;
  set_default_engine(e);
  for (const auto& p : fixture_files_rnn_pytorch("scan")) check_fixture_rnn_pytorch(p);
  set_default_engine(saved);
}

}  // namespace
