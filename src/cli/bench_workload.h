// One benchmark workload of a recurrent stack, shared by `recurrent bench` (src/cli/cmd_bench.cpp)
// and the Google Benchmark binary bench/bench_rnn.cpp. Uses only the public API (recurrent/nn/rnn.h),
// as a user would.
//
//   input x [T, B, I] (time-major, uniform in [-1, 1), no gradient: like an embedding-free input)
//   infer: rnn.eval(), NoGradGuard, forward                                  (no tape kept)
//   train: zero the parameter gradients, forward, loss = sum(output), backward through time with
//          every weight's gradient (what one training step does before the optimizer)
//
// FLOP model (the anchors' and issue 4's, so figures compare across tools): per token, per layer
// and per direction, forward = 2·G·H·(I_l + H), G = gate_count(cell) (1 RNN, 2 simple GRU, 3 GRU,
// 4 LSTM), I_l = layer l's input size (I for layer 0, D·H after); a training step counts 3× forward.
// The scan cells (mingru G = 2, minlstm and rglru G = 3) have no W_hh: 2·G·H·I_l.
// Elementwise work (nonlinearities, peepholes) is not counted.
#pragma once

#include <cstdint>
#include <memory>

#include "recurrent/autograd/ops.h"
#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/rnn.h"

namespace recurrent::bench {

struct RnnWorkload {
  CellType cell = CellType::lstm;
  int64_t hidden = 256;
  int64_t input = 0;  // 0: = hidden
  int64_t batch = 64;
  int64_t seq_len = 100;
  int64_t layers = 1;
  bool bidirectional = false;
  bool train = true;
  Precision precision = Precision::fp32;  // bf16: the layers' products in bf16 (rnn_types.h)
  float recurrent_dropout = 0.0f, zoneout = 0.0f;  // every layer's (rnn_types.h LayerSpec; training draws the masks)

  int64_t input_size() const { return input > 0 ? input : hidden; }
  RNNOptions options() const {
    RNNOptions o = RNNOptions::uniform(cell, input_size(), hidden, layers, bidirectional);
    o.precision = precision;
    for (LayerSpec& l : o.layers) l.recurrent_dropout = recurrent_dropout, l.zoneout = zoneout;
    return o;
  }
  int64_t tokens() const { return batch * seq_len; }
  // Forward FLOPs per token summed over layers and directions (see the FLOP model above).
  double forward_flops_per_token() const {
    const double G = gate_count(cell), H = static_cast<double>(hidden), D = bidirectional ? 2 : 1;
    double total = 0, in = static_cast<double>(input_size());
    const double R = is_scan_cell(cell) ? 0.0 : H;  // the scan cells have no W_hh
    for (int64_t l = 0; l < layers; ++l, in = D * H) total += D * 2.0 * G * H * (in + R);
    return total;
  }
  double flops_per_call() const { return forward_flops_per_token() * tokens() * (train ? 3.0 : 1.0); }
};

// Builds the network and input once; call() runs one timed unit (one inference or one training step).
class RnnRunner {
 public:
  explicit RnnRunner(const RnnWorkload& w, uint64_t seed = 1) : w_(w) {
    Rng rng(seed);
    rnn_ = std::make_unique<RNN>(w.options(), rng);
    rnn_->train(w.train);
    Tensor x({w.seq_len, w.batch, w.input_size()});
    rng.fill_uniform(x, -1.0f, 1.0f);
    x_ = Var(x, false);
  }

  void call() {
    if (!w_.train) {
      NoGradGuard no_grad;
      last_ = rnn_->forward(x_).output.value();
      return;
    }
    rnn_->zero_grad();
    RNNOutput out = rnn_->forward(x_);
    tape_bytes_ = out.tape_bytes;
    last_ = out.output.value();
    sum(out.output).backward();
  }

  RNN& rnn() { return *rnn_; }
  const Var& input() const { return x_; }
  const Tensor& last_output() const { return last_; }  // output of the latest call, [T, B, D·H]
  int64_t tape_bytes() const { return tape_bytes_; }   // activations kept by the latest training call

 private:
  RnnWorkload w_;
  std::unique_ptr<RNN> rnn_;
  Var x_;
  Tensor last_;
  int64_t tape_bytes_ = 0;
};

}  // namespace recurrent::bench
