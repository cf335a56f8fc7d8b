// The fused fast path against the plain step-by-step reference (scalar, double), on every option:
// outputs, final states and every gradient. Tolerance: fp32 against a double oracle over T ≤ 6
// steps of O(1) values, K ≤ 12 term dot products: errors are a few ulp (~1e-7 relative); we ask
// 1e-5 relative + 1e-6 absolute (the bound), far below what a wrong formula produces.
#include <gtest/gtest.h>

#include "nn/rnn_test_util.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

struct Result {
  std::vector<Tensor> values;  // flattened outputs, then each input's gradient
};

Result run_engine(RnnCase c, RnnEngine e) {
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
  Result res{{out.value()}};
  for (auto& v : vars) res.values.push_back(v.grad());
  return res;
}

void compare(const RnnCase& c) {
  Result fast = run_engine(c, RnnEngine::fast), ref = run_engine(c, RnnEngine::reference);
  ASSERT_EQ(fast.values.size(), ref.values.size());
  for (size_t k = 0; k < fast.values.size(); ++k)
    EXPECT_TRUE(tensor_near(fast.values[k], ref.values[k], 1e-6, 1e-5))
        << c.label << ": " << (k == 0 ? std::string("outputs") : "gradient of input " + std::to_string(k - 1));
}

const CellType kAllCells[] = {CellType::rnn_tanh, CellType::rnn_relu, CellType::lstm, CellType::lstm_peephole,
                              CellType::gru,      CellType::gru_cho,  CellType::gru_simple};

class FastVsReference : public ::testing::TestWithParam<CellType> {};

TEST_P(FastVsReference, EveryOption) {
  CellType cell = GetParam();
  compare({one_layer(cell, 3, 6), 6, 4, {}, false, "plain"});
  compare({one_layer(cell, 3, 6), 6, 4, {6, 1, 4, 2}, true, "h0 + lengths"});
  RNNOptions bi = RNNOptions::uniform(cell, 3, 5, 3, true);
  compare({bi, 5, 3, {5, 2, 3}, true, "3 layers bidirectional lengths"});
  bi.merge = BidirMerge::sum;
  bi.batch_first = true;
  compare({bi, 5, 3, {}, false, "bidirectional sum, batch_first"});
  if (is_lstm(cell)) {
    RNNOptions p = RNNOptions::uniform(cell, 3, 6, 2, true, 4);
    compare({p, 5, 3, {1, 5, 3}, true, "projection"});
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, FastVsReference, ::testing::ValuesIn(kAllCells),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

TEST(FastVsReference, MixedStack) {
  RNNOptions o;
  o.input_size = 4;
  o.bidirectional = true;
  o.layers = {{CellType::gru_cho, 6, 0}, {CellType::lstm_peephole, 5, 3}, {CellType::rnn_relu, 4, 0}};
  compare({o, 6, 3, {6, 3, 1}, true, "mixed"});
}

}  // namespace
