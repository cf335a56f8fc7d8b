// The fused fast path against the plain step-by-step reference (scalar, double), on every option:
// outputs, final states and every gradient. Tolerance: fp32 against a double oracle over T ≤ 6
// steps of O(1) values, K ≤ 12 term dot products: errors are a few ulp (~1e-7 relative); we ask
// 1e-5 relative + 1e-6 absolute (the bound), far below what a wrong formula produces.
#include <gtest/gtest.h>

#include <algorithm>

#include "nn/rnn_direction.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/threads.h"
#include "kernels/simd_targets.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/cpu.h"

using namespace recurrent;
using namespace recurrent::testing;
using recurrent::testing::ScopedTarget;

namespace {

struct RefResult {
  std::vector<Tensor> values;  // flattened outputs, then each input's gradient
};

RefResult run_engine(RnnCase c, RnnEngine e) {
  set_rnn_engine(e);
  RnnHarness h(std::move(c));
  std::vector<Tensor> in = h.inputs();
  std::vector<Var> vars;
  for (auto& t : in) vars.emplace_back(t, true);
  Var out = h.run(vars);
  Rng r(99);
  Tensor seed = random_tensor(out.shape(), r);
  out.backward(seed);
  set_rnn_engine(RnnEngine::fast);
  RefResult res{{out.value()}};
  for (auto& v : vars) res.values.push_back(v.grad());
  return res;
}

void compare_reference(const RnnCase& c, double atol = 1e-6) {
  RefResult fast = run_engine(c, RnnEngine::fast), ref = run_engine(c, RnnEngine::reference);
  ASSERT_EQ(fast.values.size(), ref.values.size());
  for (size_t k = 0; k < fast.values.size(); ++k)
    EXPECT_TRUE(tensor_near(fast.values[k], ref.values[k], atol, 1e-5))
        << c.label << ": " << (k == 0 ? std::string("outputs") : "gradient of input " + std::to_string(k - 1));
}

const CellType kReferenceCells[] = {CellType::rnn_tanh, CellType::rnn_relu, CellType::lstm,    CellType::lstm_peephole,
                              CellType::gru,      CellType::gru_cho,  CellType::gru_simple, CellType::mingru,
                              CellType::minlstm,  CellType::rglru,    CellType::lstm_ln,    CellType::gru_ln};
// LSTMs that take a projection (the layer-norm LSTM does not).
bool reference_projectable(CellType c) { return is_lstm(c) && c != CellType::lstm_ln; }

// Sums over T·B = 224 rows (bias gradients, dW_ih) of terms of both signs: as kWideAtol below.
constexpr double kScanAtol = 1e-5;

class FastVsReference : public ::testing::TestWithParam<CellType> {};

TEST_P(FastVsReference, EveryOption) {
  CellType cell = GetParam();
  compare_reference({one_layer(cell, 3, 6), 6, 4, {}, false, "plain"});
  compare_reference({one_layer(cell, 3, 6), 6, 4, {6, 1, 4, 2}, true, "h0 + lengths"});
  RNNOptions bi = RNNOptions::uniform(cell, 3, 5, 3, true);
  compare_reference({bi, 5, 3, {5, 2, 3}, true, "3 layers bidirectional lengths"});
  bi.merge = BidirMerge::sum;
  bi.batch_first = true;
  compare_reference({bi, 5, 3, {}, false, "bidirectional sum, batch_first"});
  if (reference_projectable(cell)) {
    RNNOptions p = RNNOptions::uniform(cell, 3, 6, 2, true, 4);
    compare_reference({p, 5, 3, {1, 5, 3}, true, "projection"});
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, FastVsReference, ::testing::ValuesIn(kReferenceCells),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

TEST(FastVsReference, MixedStackWithScanCells) {
  RNNOptions o;
  o.input_size = 4;
  o.bidirectional = true;
  o.layers = {{CellType::mingru, 6, 0}, {CellType::gru, 5, 0}, {CellType::rglru, 7, 0}, {CellType::minlstm, 4, 0}};
  compare_reference({o, 6, 3, {6, 3, 1}, true, "mixed with scan cells"});
  o.merge = BidirMerge::sum;
  compare_reference({o, 5, 2, {}, true, "mixed with scan cells, sum merge"});
}

// The scan cells split hidden units between threads above ~64k elements per call (rnn_scan.cpp): each unit
// is computed the same way on any thread, so 1 and 2 threads give bitwise the same outputs and gradients,
// and both match the double reference (H = 300: blocks of 16 and a tail of 12; lengths and h0).
TEST(ScanCells, ThreadsAreBitwiseTheSameAndMatchTheReference) {
  const int saved = num_threads();
  for (CellType cell : {CellType::mingru, CellType::minlstm, CellType::rglru}) {
    const RnnCase c{RNNOptions::uniform(cell, 5, 300, 1, true), 8, 28, {8, 3, 8, 1, 8, 8, 5, 8, 8, 8, 2, 8, 8, 8,
                                                                         8, 8, 7, 8, 8, 8, 8, 4, 8, 8, 8, 8, 8, 6},
                    true, std::string("H=300 B=28 ") + cell_name(cell)};
    set_num_threads(1);
    const RefResult one = run_engine(c, RnnEngine::fast);
    set_num_threads(2);
    const RefResult two = run_engine(c, RnnEngine::fast);
    ASSERT_EQ(one.values.size(), two.values.size());
    for (size_t k = 0; k < one.values.size(); ++k)
      EXPECT_EQ(one.values[k].to_vector(), two.values[k].to_vector()) << c.label << ": value " << k;
    compare_reference(c, kScanAtol);
  }
  set_num_threads(saved);
}

TEST(FastVsReference, MixedStack) {
  RNNOptions o;
  o.input_size = 4;
  o.bidirectional = true;
  o.layers = {{CellType::gru_cho, 6, 0}, {CellType::lstm_peephole, 5, 3}, {CellType::rnn_relu, 4, 0}};
  compare_reference({o, 6, 3, {6, 3, 1}, true, "mixed"});
}

}  // namespace

namespace {

// The fused loops (src/nn/rnn_fused_*.cpp) on every SIMD target this CPU runs: H is cut into blocks of
// P hidden units (P = 32 on AVX-512, 16 on AVX2, 8 on SSE4/SSSE3) shared out between threads, rows run in
// register blocks of 8 (AVX-512) or 6 rows: H = 70 gives a masked tail block on every target, B = 9 a
// full row block and a remainder (or a single row), and 2 threads split the blocks.
// Tolerance: the recurrent products now sum K = G·H ≤ 280 terms in float (error up to ~K·u·Σ|terms|
// ≈ 2e-5·Σ|terms|), and bias gradients are sums over T·B rows of terms of both signs, so an element
// near zero can carry ~1e-6 of absolute error (seen: 1.1e-6 on a b_ih element of 5.7e-3 whose 36
// terms cancel). Relative 1e-5 as everywhere, absolute 5e-6 (gradients here are O(0.01..1)).
// Raised to 1e-5 when the SSE targets (no FMA: two roundings per multiply-add) joined: the simplified
// GRU's W_hh gradient at H = 70, B = 19 (weights ±0.6) misses the double oracle by 5.3e-6 (AVX-512/AVX2
// fused), 5.75e-6 (SSE fused) and 6.4e-6 (the per-step path: oneDNN + the scalar kernels) on elements of
// ~0.02 built from 76 cancelling terms — the same on every path, so conditioning, not a kernel error.
constexpr double kWideAtol = 1e-5;
class FusedVsReference : public ::testing::TestWithParam<std::tuple<CellType, int64_t>> {};

// Vanilla RNN cells get weights U(-0.15, 0.15) (PyTorch's init at H = 70 is ±0.12): with ±0.6 a
// tanh/ReLU step's Jacobian has norm ~3, which amplifies fp32 rounding past 1e-5 against the double
// oracle in the fused AND the oneDNN per-step path alike (measured: 3.6e-5 relative on a bias gradient).
TEST_P(FusedVsReference, WideHiddenTwoThreads) {
  const CellType cell = std::get<0>(GetParam());
  const ScopedTarget target(std::get<1>(GetParam()));
  const float r = (cell == CellType::rnn_tanh || cell == CellType::rnn_relu) ? 0.15f : 0.6f;
  const int saved = num_threads();
  for (int threads : {2, 1}) {
    set_num_threads(threads);
    const std::string tag = " threads=" + std::to_string(threads);
    compare_reference({one_layer(cell, 5, 70), 4, 9, {}, false, "H=70 B=9" + tag, r}, kWideAtol);
    compare_reference({one_layer(cell, 5, 70), 4, 9, {4, 1, 3, 4, 2, 4, 4, 1, 3}, true, "H=70 lengths + h0" + tag, r}, kWideAtol);
    RNNOptions bi = RNNOptions::uniform(cell, 5, 33, 2, true);
    compare_reference({bi, 3, 2, {3, 2}, true, "H=33 2 layers bidirectional" + tag, r}, kWideAtol);
    RNNOptions single = one_layer(cell, 4, 40);
    compare_reference({single, 3, 1, {}, true, "batch 1" + tag, r}, kWideAtol);
    // B = 19: on 2 threads the one-phase cells' forward gives each thread its own rows (0-8, 9-18).
    rnn::force_forward_split(1);
    compare_reference({one_layer(cell, 5, 70), 4, 19, {4, 1, 3, 4, 2, 4, 4, 1, 3, 4, 4, 2, 4, 1, 4, 3, 4, 4, 2}, true,
             "H=70 B=19 rows split, lengths + h0" + tag, r},
            kWideAtol);
    rnn::force_forward_split(0);
    // The input projection folded into the steps (fp32 one-phase cells at B ≥ 8) and not: both
    // forced, on either side of the rule (B = 9 unfolded, B = 3 and B = 1 folded).
    rnn::force_fold_input(-1);
    compare_reference({one_layer(cell, 5, 70), 4, 9, {4, 1, 3, 4, 2, 4, 4, 1, 3}, true, "H=70 B=9 input not folded" + tag, r},
            kWideAtol);
    rnn::force_fold_input(1);
    compare_reference({one_layer(cell, 5, 70), 4, 3, {4, 1, 3}, true, "H=70 B=3 input folded" + tag, r}, kWideAtol);
    compare_reference({one_layer(cell, 4, 40), 3, 1, {}, true, "batch 1 input folded" + tag, r}, kWideAtol);
    // Folded in both directions and on a second layer (I = 2·70: a long x segment), with lengths.
    // Weights ±0.2: with ±0.6 the GRUs' second layer (140 + 70 terms per gate) is ill-conditioned —
    // the unfolded fused loop and the per-step path miss the double oracle there alike (measured:
    // up to 8e-4 relative on input gradients), so it would not test the fold.
    RNNOptions bi9 = RNNOptions::uniform(cell, 5, 70, 2, true);
    compare_reference({bi9, 4, 9, {4, 1, 3, 4, 2, 4, 4, 1, 3}, true, "H=70 2 layers bidirectional B=9 input folded" + tag,
             std::min(r, 0.2f)},
            kWideAtol);
    rnn::force_fold_input(0);
    // Every row valid, so the rows kernels run on each thread's own rows (r0 = 9 on the second).
    rnn::force_forward_split(1);
    compare_reference({one_layer(cell, 5, 70), 4, 19, {}, true, "H=70 B=19 rows split, no lengths" + tag, r}, kWideAtol);
    rnn::force_forward_split(0);
    // Projection: R = 40 is two blocks of h (32 + 8), R = 20 one (one thread owns none). Weights
    // U(-0.2, 0.2) (PyTorch's init here is ±0.12): with ±0.6, h = W_hr m sums 70 terms and the next
    // step's gates saturate, and the fused and the oneDNN per-step path alike miss the double oracle
    // by ~4e-4 relative (measured; an ill-conditioned case, not a kernel error).
    if (reference_projectable(cell)) {
      const float rp = 0.2f;
      compare_reference({one_layer(cell, 5, 70, 40), 4, 9, {4, 1, 3, 4, 2, 4, 4, 1, 3}, true, "H=70 P=40 lengths + h0" + tag, rp},
              kWideAtol);
      RNNOptions pbi = RNNOptions::uniform(cell, 5, 70, 2, true, 20);
      compare_reference({pbi, 3, 2, {3, 2}, true, "H=70 P=20 2 layers bidirectional" + tag, rp}, kWideAtol);
      compare_reference({one_layer(cell, 4, 40, 33), 3, 1, {}, true, "P=33 batch 1" + tag, rp}, kWideAtol);
    }
  }
  set_num_threads(saved);
}

// Which shapes fold the input projection into the fused steps (rnn_fused.cpp "Input folded"), so
// that the B = 9 / 19 cases above really run the folded path and B = 1 / 2 the unfolded one.
TEST(FoldInput, TakenForOnePhaseFp32CellsFromEightRows) {
  for (CellType cell : kReferenceCells) {
    const bool one_phase = cell != CellType::gru_cho && !is_layer_norm(cell);  // LN: normalises X W_ihᵀ first
    EXPECT_EQ(rnn::fold_input({cell, 4, 9, 5, 70, 70, false}), one_phase) << cell_name(cell);
    EXPECT_FALSE(rnn::fold_input({cell, 4, 7, 5, 70, 70, false})) << cell_name(cell);
    EXPECT_FALSE(rnn::fold_input({cell, 4, 1, 5, 70, 70, false})) << cell_name(cell);
    rnn::DirShape bf{cell, 4, 64, 5, 70, 70, false};
    bf.precision = Precision::bf16;
    EXPECT_FALSE(rnn::fold_input(bf)) << cell_name(cell);
  }
  EXPECT_FALSE(rnn::fold_input({CellType::lstm, 4, 64, 5, 70, 40, false}));  // projection: two phases
  rnn::DirShape forced{CellType::lstm, 4, 1, 5, 70, 70, false};
  forced.engine.fold = 1;
  EXPECT_TRUE(rnn::fold_input(forced));
  forced.cell = CellType::gru_cho;
  EXPECT_FALSE(rnn::fold_input(forced));
  forced = {CellType::lstm, 4, 64, 5, 70, 70, false};
  forced.engine.fold = -1;
  EXPECT_FALSE(rnn::fold_input(forced));
}

INSTANTIATE_TEST_SUITE_P(CellsTargets, FusedVsReference,
                         ::testing::Combine(::testing::ValuesIn(kReferenceCells), ::testing::ValuesIn(simd::cpu_targets())),
                         [](const auto& info) {
                           return std::string(cell_name(std::get<0>(info.param))) + "_" +
                                  simd::target_name(std::get<1>(info.param));
                         });

// The per-step path (EngineConfig::fused = -1: oneDNN products and the scalar cell kernels, what
// RECURRENT_RNN_FUSED=0 selects) must match the reference too, including the wide case.
TEST(PerStepPath, EveryCellMatchesReference) {
  const EngineConfig saved = default_engine();
  EngineConfig e = saved;
  e.fused = -1;
  set_default_engine(e);
  for (CellType cell : kReferenceCells) {
    if (is_layer_norm(cell)) continue;  // fused loops only (refused: test_rnn_layer_norm.cpp)
    compare_reference({one_layer(cell, 3, 6), 5, 4, {5, 2, 4, 1}, true, std::string("per-step ") + cell_name(cell)});
    compare_reference({one_layer(cell, 5, 37), 3, 9, {}, false, std::string("per-step H=37 ") + cell_name(cell)}, kWideAtol);
  }
  set_default_engine(saved);
}

// A model's own EngineConfig wins over the process default: two models in one process, one on each of
// two targets, give the reference's results (and a target this CPU cannot run is refused).
TEST(EngineConfig, PerModelTargetOverridesTheDefault) {
  const std::vector<int64_t> targets = simd::cpu_targets();
  for (int64_t t : targets) {
    RNNOptions o = one_layer(CellType::lstm, 5, 70);
    o.engine.target = t;
    compare_reference({o, 4, 9, {}, true, "model target " + simd::target_name(t)}, kWideAtol);
  }
  EXPECT_EQ(rnn::resolve_engine({}).target, simd::default_target());
  EngineConfig mine;
  mine.target = targets.back();
  EXPECT_EQ(rnn::resolve_engine(mine).target, targets.back());
  EXPECT_THROW(simd::parse_target("no-such-target"), recurrent::Error);
}

}  // namespace
