// rnn_layer — the recurrent layer API from C++: a 2-layer bidirectional LSTM over a batch of
// variable-length sequences, forward and backward (BPTT), with PyTorch's parameter names.
// Small and fast: the install test (tests/install/consumer.cmake) builds it against an installed
// package, as an outside project would, and runs it.
//
//   build/examples/rnn_layer
#include <cstdio>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/rnn.h"

int main() {
  using namespace recurrent;
  try {
    Rng rng(1);
    // x: [T, B, I] = [5, 3, 4]; lengths: B values in [1, T]; hidden 8, 2 layers, both directions.
    RNNOptions o = RNNOptions::uniform(CellType::lstm, /*input_size=*/4, /*hidden=*/8, /*num_layers=*/2,
                                       /*bidirectional=*/true);
    RNN lstm(o, rng);
    Tensor x({5, 3, 4});
    rng.fill_normal(x, 0.0f, 1.0f);
    Var input(x, /*requires_grad=*/true);
    RNNOutput out = lstm.forward(input, {5, 2, 4});  // output [5, 3, 16], h_n[l] [2, 3, 8]
    Var loss = sum(mul(out.output, out.output));
    loss.backward();
    std::printf("output %s, h_n[1] %s, loss %.6f\n", shape_str(out.output.shape()).c_str(),
                shape_str(out.final_state.h[1].shape()).c_str(), loss.value().item());
    for (const auto& [name, p] : lstm.named_parameters())
      std::printf("  %-22s %-10s |grad|_1 = %.5f\n", name.c_str(), shape_str(p.shape()).c_str(), [&] {
        double s = 0;
        for (float g : p.node()->grad.to_vector()) s += g < 0 ? -g : g;
        return s;
      }());
  } catch (const Error& e) {
    std::fprintf(stderr, "rnn_layer: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
