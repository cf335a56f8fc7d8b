// Semantics of the stack beyond single-step math: variable lengths equal running each sequence
// alone; truncated BPTT with carried state equals one long run forward and cuts gradients at chunk
// boundaries; dropout only between layers and only in training; clear errors on bad shapes.
#include <gtest/gtest.h>

#include "nn/rnn_test_util.h"
#include "recurrent/core/error.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

RNNOptions mixed_bi() {
  RNNOptions o;
  o.input_size = 3;
  o.bidirectional = true;
  o.layers = {{CellType::lstm, 5, 3}, {CellType::gru, 4, 0}};
  return o;
}

TEST(RnnSemantics, VariableLengthsEqualRunningEachSequenceAlone) {
  Rng rng(5);
  RNN rnn(mixed_bi(), rng);
  const int64_t T = 6, B = 3;
  std::vector<int64_t> lengths{4, 6, 1};
  Var x(random_tensor({T, B, 3}, rng), true);
  RNNOutput batch = rnn.forward(x, lengths);
  Rng sr(8);
  Tensor seed = random_tensor(batch.output.shape(), sr);
  sum(mul(batch.output, Var(seed))).backward();
  for (int64_t b = 0; b < B; ++b) {
    SCOPED_TRACE("sequence " + std::to_string(b));
    const int64_t len = lengths[b];
    Var xb(x.value().slice(0, 0, len).slice(1, b, b + 1).contiguous(), true);
    RNNOutput alone = rnn.forward(xb);
    Tensor ob = batch.output.value().slice(0, 0, len).slice(1, b, b + 1).contiguous();
    EXPECT_TRUE(tensor_near(alone.output.value(), ob, 1e-6, 1e-5));
    for (size_t l = 0; l < 2; ++l)
      EXPECT_TRUE(tensor_near(alone.final_state.h[l].value(),
                              batch.final_state.h[l].value().slice(1, b, b + 1).contiguous(), 1e-6, 1e-5));
    for (int64_t t = len; t < T; ++t)  // padding: zero output, no input gradient
      for (int64_t j = 0; j < batch.output.size(2); ++j) EXPECT_EQ(batch.output.value().at({t, b, j}), 0.0f);
    for (int64_t t = len; t < T; ++t)
      for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(x.grad().at({t, b, i}), 0.0f);
    Tensor sb = seed.slice(0, 0, len).slice(1, b, b + 1).contiguous();
    sum(mul(alone.output, Var(sb))).backward();
    EXPECT_TRUE(tensor_near(xb.grad(), x.grad().slice(0, 0, len).slice(1, b, b + 1).contiguous(), 1e-6, 1e-5));
  }
}

TEST(RnnSemantics, CarriedStateChunksEqualOneRunAndCutGradients) {
  Rng rng(6);
  RNNOptions o = RNNOptions::uniform(CellType::lstm, 3, 4, 2);
  RNN rnn(o, rng);
  Tensor xs = random_tensor({8, 2, 3}, rng);
  RNNOutput full = rnn.forward(Var(xs));
  RNNState state;
  std::vector<Tensor> outs;
  Var first_chunk_x;
  for (int64_t c = 0; c < 2; ++c) {
    Var xc(xs.slice(0, 4 * c, 4 * c + 4).contiguous(), true);
    if (c == 0) first_chunk_x = xc;
    RNNOutput r = rnn.forward(xc, {}, state);
    outs.push_back(r.output.value());
    if (c == 1) sum(r.output).backward();  // loss on the second chunk only
    state = {};
    for (auto& h : r.final_state.h) state.h.push_back(h.detach());  // truncated BPTT: cut here
    for (auto& cc : r.final_state.c) state.c.push_back(cc.detach());
  }
  EXPECT_TRUE(tensor_near(outs[0], full.output.value().slice(0, 0, 4).contiguous(), 1e-6, 1e-5));
  EXPECT_TRUE(tensor_near(outs[1], full.output.value().slice(0, 4, 8).contiguous(), 1e-6, 1e-5));
  EXPECT_FALSE(first_chunk_x.has_grad()) << "gradient crossed the chunk boundary";
}

TEST(RnnSemantics, DropoutOnlyBetweenLayersAndOnlyInTraining) {
  Rng rng(9);
  RNNOptions o = RNNOptions::uniform(CellType::gru, 3, 16, 2);
  o.dropout = 0.5f;
  RNN rnn(o, rng);
  Var x(random_tensor({5, 4, 3}, rng));
  rnn.eval();
  Tensor e1 = rnn.forward(x).output.value(), e2 = rnn.forward(x).output.value();
  EXPECT_TRUE(tensor_near(e1, e2, 1e-12));  // eval: deterministic, no dropout
  rnn.train();
  Tensor t1 = rnn.forward(x).output.value();
  EXPECT_FALSE(tensor_near(t1, e1, 1e-3)) << "training mode applied no dropout";
  // With one layer there is no "between": training and eval agree.
  RNNOptions one = RNNOptions::uniform(CellType::gru, 3, 16, 1);
  one.dropout = 0.5f;
  RNN single(one, rng);
  Tensor a = single.forward(x).output.value();
  single.eval();
  EXPECT_TRUE(tensor_near(single.forward(x).output.value(), a, 1e-12));
}

TEST(RnnSemantics, BadInputsGiveClearErrors) {
  Rng rng(1);
  RNN rnn(RNNOptions::uniform(CellType::lstm, 3, 4, 2), rng);
  auto msg = [&](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg([&] { rnn.forward(Var(Tensor({5, 2, 4}))); }).find("expected feature size 3"), std::string::npos);
  EXPECT_NE(msg([&] { rnn.forward(Var(Tensor({5, 2}))); }).find("3-d"), std::string::npos);
  EXPECT_NE(msg([&] { rnn.forward(Var(Tensor({5, 2, 3})), {5, 6}); }).find("outside [1, 5]"), std::string::npos);
  EXPECT_NE(msg([&] { rnn.forward(Var(Tensor({5, 2, 3})), {5}); }).find("expected 2 lengths"), std::string::npos);
  RNNState bad;
  bad.h = {Var(Tensor({1, 2, 5})), Var(Tensor({1, 2, 4}))};
  EXPECT_NE(msg([&] { rnn.forward(Var(Tensor({5, 2, 3})), {}, bad); }).find("expected shape [1, 2, 4]"),
            std::string::npos);
  EXPECT_NE(msg([] { parse_cell("lstmx"); }).find("gru_simple"), std::string::npos);
  EXPECT_NE(msg([] { RNNOptions::uniform(CellType::gru, 3, 4, 1, false, 2).validate(); }).find("only defined for LSTM"),
            std::string::npos);
}

TEST(RnnSemantics, ParameterNamesFollowPyTorch) {
  Rng rng(1);
  RNNOptions o = RNNOptions::uniform(CellType::lstm_peephole, 3, 4, 2, true, 2);
  RNN rnn(o, rng);
  std::vector<std::string> names;
  for (auto& [n, v] : rnn.named_parameters()) names.push_back(n);
  ASSERT_EQ(names.size(), 24u);
  EXPECT_EQ(names[0], "weight_ih_l0");
  EXPECT_EQ(names[4], "weight_hr_l0");
  EXPECT_EQ(names[5], "weight_ch_l0");
  EXPECT_EQ(names[6], "weight_ih_l0_reverse");
  EXPECT_EQ(rnn.parameter("weight_ih_l1").shape(), (Shape{16, 4}));  // input = 2 directions × proj 2
  EXPECT_EQ(rnn.parameter("weight_hh_l1_reverse").shape(), (Shape{16, 2}));
  EXPECT_EQ(rnn.parameter("weight_ch_l1").shape(), (Shape{3, 4}));
}

}  // namespace
