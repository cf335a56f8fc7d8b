// Finite-difference gradient checks of the recurrent layers (fast path, explicit BPTT) for every
// cell and option. Tolerances: gradcheck.h's defaults (h = 1e-2), argued there; a recurrent layer's
// fan-out is T steps deep but T ≤ 5 here, so the same bound holds.
#include <gtest/gtest.h>

#include "nn/rnn_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// ReLU, and minGRU / minLSTM's g (g' jumps from ¼ to 1 at 0): a central difference straddling the kink.
bool kinked(CellType c) { return c == CellType::rnn_relu || c == CellType::mingru || c == CellType::minlstm; }

void check(RnnCase c) {
  RnnHarness h(std::move(c));
  auto f = [&](const std::vector<Var>& v) { return h.run(v); };
  GradCheckOptions o;
  bool relu = false;
  for (auto& s : h.c.opts.layers) relu = relu || kinked(s.cell);
  if (relu) {
    // ReLU has a kink at 0: with h = 1e-2 some of the ~100 pre-activations a perturbation moves
    // cross it and the central difference straddles the kink. h = 1e-3 makes that 10× rarer; the
    // rounding term δ/h grows 10× (≈ 1e-3 typical), hence atol 1e-2.
    o.eps = 1e-3;
    o.atol = 1e-2;
  }
  for (auto& s : h.c.opts.layers)  // the norms' curvature needs a smaller step (tests/nn/test_rnn_layer_norm.cpp)
    if (is_layer_norm(s.cell)) o.eps = 1e-3;
  EXPECT_TRUE(gradcheck_ok(f, h.inputs(), o)) << h.c.label;
}

const CellType kAllCellsRnnGradcheck[] = {CellType::rnn_tanh, CellType::rnn_relu, CellType::lstm,    CellType::lstm_peephole,
                              CellType::gru,      CellType::gru_cho,  CellType::gru_simple, CellType::mingru,
                              CellType::minlstm,  CellType::rglru,    CellType::lstm_ln,    CellType::gru_ln};

class EveryCell : public ::testing::TestWithParam<CellType> {};

TEST_P(EveryCell, SingleLayer) { check({one_layer(GetParam()), 4, 3, {}, false, "single"}); }

TEST_P(EveryCell, GivenInitialStateAndVariableLengths) {
  check({one_layer(GetParam()), 5, 3, {3, 5, 1}, true, "h0 + lengths"});
}

TEST_P(EveryCell, StackedBidirectionalBatchFirst) {
  RNNOptions o = RNNOptions::uniform(GetParam(), 3, 4, 2, true);
  o.batch_first = true;
  check({o, 4, 2, {4, 2}, true, "2 layers, bidirectional, batch_first, lengths"});
}

TEST_P(EveryCell, BidirectionalSumMerge) {
  RNNOptions o = RNNOptions::uniform(GetParam(), 3, 4, 2, true);
  o.merge = BidirMerge::sum;
  check({o, 4, 2, {}, false, "bidirectional sum"});
}

// Carried state: two chunks, the first chunk's final state fed (not detached) into the second, so the
// gradient of the second chunk's outputs flows back through the carried h (and c) into chunk one.
TEST_P(EveryCell, CarriedStateAcrossTwoChunks) {
  RnnHarness h({RNNOptions::uniform(GetParam(), 3, 4, 2), 5, 2, {}, true, "two chunks, carried state"});
  auto f = [&](const std::vector<Var>& v) {
    std::vector<Var> first(v), second(v);
    first[0] = slice(v[0], 0, 0, 2);   // steps 0-1
    second[0] = slice(v[0], 0, 2, 5);  // steps 2-4
    RNNOutput a;
    Var ya = h.run(first, &a);
    // Second chunk: same parameters, initial state = the first chunk's final state.
    const size_t k0 = 1 + h.names.size();
    size_t k = k0;
    for (auto& s : a.final_state.h) second[k++] = s;
    for (auto& c : a.final_state.c)
      if (c.defined()) second[k++] = c;
    Var yb = h.run(second);
    return concat({ya, yb}, 0);
  };
  GradCheckOptions o;
  if (kinked(GetParam())) o.eps = 1e-3, o.atol = 1e-2;  // kink at 0, as in check()
  if (is_layer_norm(GetParam())) o.eps = 1e-3;         // the norms' curvature, as in check()
  EXPECT_TRUE(gradcheck_ok(f, h.inputs(), o));
}

INSTANTIATE_TEST_SUITE_P(Cells, EveryCell, ::testing::ValuesIn(kAllCellsRnnGradcheck),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

TEST(RnnGradcheck, LstmProjection) {
  check({one_layer(CellType::lstm, 3, 5, 3), 4, 2, {}, true, "proj"});
  RNNOptions o = RNNOptions::uniform(CellType::lstm, 3, 5, 2, true, 2);
  check({o, 4, 3, {2, 4, 1}, true, "proj, 2 layers, bidirectional, lengths"});
}

TEST(RnnGradcheck, PeepholeWithProjection) {
  check({one_layer(CellType::lstm_peephole, 3, 5, 2), 4, 2, {3, 4}, true, "peephole + proj"});
}

TEST(RnnGradcheck, MixedCellsPerLayer) {
  RNNOptions o;
  o.input_size = 3;
  o.layers = {{CellType::gru, 5, 0}, {CellType::lstm, 4, 3}, {CellType::rnn_tanh, 3, 0}, {CellType::gru_simple, 4, 0}};
  check({o, 4, 2, {4, 2}, true, "gru → lstm(proj) → tanh rnn → simplified gru"});
  o.bidirectional = true;
  check({o, 3, 2, {}, false, "mixed, bidirectional"});
}

// The scan cells (no W_hh) stacked with classic ones, bidirectional, lengths and h0.
TEST(RnnGradcheck, MixedWithScanCells) {
  RNNOptions o;
  o.input_size = 3;
  o.bidirectional = true;
  o.layers = {{CellType::rglru, 4, 0}, {CellType::lstm, 3, 0}, {CellType::minlstm, 4, 0}, {CellType::mingru, 3, 0}};
  RnnCase c{o, 4, 2, {4, 3}, true, "rglru → lstm → minlstm → mingru, bidirectional"};
  RnnHarness h(std::move(c));
  auto f = [&](const std::vector<Var>& v) { return h.run(v); };
  GradCheckOptions g;
  g.eps = 1e-3, g.atol = 1e-2;  // g's kink, as in check()
  EXPECT_TRUE(gradcheck_ok(f, h.inputs(), g)) << h.c.label;
}

}  // namespace
