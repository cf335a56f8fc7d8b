// Shared helpers for the recurrent-layer tests: build a stack, run it with given tensors as
// parameters and states, and flatten everything it returns into one tensor for gradcheck.
#pragma once

#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/nn/rnn.h"

namespace recurrent::testing {

struct RnnCase {
  RNNOptions opts;
  int64_t T = 4, B = 3;
  std::vector<int64_t> lengths;  // empty: all T
  bool with_h0 = false;
  std::string label;
  float param_range = 0.6f;  // parameters U(-r, r)
};

// Inputs in order: x, every parameter (named_parameters order), then h0 per layer, c0 per LSTM layer.
struct RnnHarness {
  RnnCase c;
  Rng rng{123};
  RNN rnn;
  std::vector<std::string> names;
  Rng::State mask_state;
  explicit RnnHarness(RnnCase rc) : c(std::move(rc)), rnn(c.opts, rng), mask_state(rnn.dropout_rng().state()) {
    for (auto& [n, v] : rnn.named_parameters()) names.push_back(n);
  }
  std::vector<Tensor> inputs() {
    Rng r(7);
    std::vector<Tensor> in;
    Shape xs = c.opts.batch_first ? Shape{c.B, c.T, c.opts.input_size} : Shape{c.T, c.B, c.opts.input_size};
    in.push_back(random_tensor(xs, r));
    for (auto& [n, v] : rnn.named_parameters()) in.push_back(random_tensor(v.shape(), r, -c.param_range, c.param_range));
    if (c.with_h0) {
      for (auto& s : c.opts.layers) in.push_back(random_tensor({c.opts.directions(), c.B, s.out_size()}, r));
      for (auto& s : c.opts.layers)
        if (has_cell_state(s.cell)) in.push_back(random_tensor({c.opts.directions(), c.B, s.hidden}, r));
    }
    return in;
  }
  // Runs the stack on vars; returns [output..., h_n..., c_n...] flattened (all of it is differentiated).
  Var run(const std::vector<Var>& v, RNNOutput* full = nullptr) {
    for (size_t k = 0; k < names.size(); ++k) rnn.replace_parameter(names[k], v[1 + k]);
    RNNState init;
    size_t k = 1 + names.size();
    if (c.with_h0) {
      for (size_t l = 0; l < c.opts.layers.size(); ++l) init.h.push_back(v[k++]);
      for (auto& s : c.opts.layers) init.c.push_back(has_cell_state(s.cell) ? v[k++] : Var());
    }
    // Recurrent dropout / zoneout: the same masks in every call (finite differences, engine comparisons).
    rnn.dropout_rng().set_state(mask_state);
    RNNOutput out = rnn.forward(v[0], c.lengths, init);
    std::vector<Var> parts{reshape(out.output, {-1})};
    for (auto& h : out.final_state.h) parts.push_back(reshape(h, {-1}));
    for (auto& cc : out.final_state.c)
      if (cc.defined()) parts.push_back(reshape(cc, {-1}));
    if (full) *full = out;
    return concat(parts, 0);
  }
};

inline RNNOptions one_layer(CellType cell, int64_t I = 3, int64_t H = 4, int64_t proj = 0) {
  return RNNOptions::uniform(cell, I, H, 1, false, proj);
}

// Runs c on one engine (the fast one, or the double reference), in training mode (backward: the outputs'
// and every input's gradient for a fixed random seed) or evaluation (backward = false: outputs only).
inline std::vector<Tensor> run_on_engine(const RnnCase& c, RnnEngine e, bool backward = true) {
  set_rnn_engine(e);
  RnnHarness h(c);
  if (!backward) h.rnn.eval();
  std::vector<Var> vars;
  for (auto& t : h.inputs()) vars.emplace_back(t, backward);
  Var out = h.run(vars);
  std::vector<Tensor> res{out.value()};
  if (backward) {
    Rng r(99);
    out.backward(random_tensor(out.shape(), r));
    for (auto& v : vars) res.push_back(v.grad());
  }
  set_rnn_engine(RnnEngine::fast);
  return res;
}

// The fast engine against the double reference on c: 1e-5 relative + atol (tests/nn/test_rnn_reference.cpp).
inline void compare_engines(const RnnCase& c, double atol = 1e-5, bool backward = true) {
  const std::vector<Tensor> fast = run_on_engine(c, RnnEngine::fast, backward),
                            ref = run_on_engine(c, RnnEngine::reference, backward);
  ASSERT_EQ(fast.size(), ref.size());
  for (size_t k = 0; k < fast.size(); ++k)
    EXPECT_TRUE(tensor_near(fast[k], ref[k], atol, 1e-5))
        << c.label << ": " << (k == 0 ? std::string("outputs") : "gradient of input " + std::to_string(k - 1));
}

}  // namespace recurrent::testing
