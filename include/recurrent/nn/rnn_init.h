// recurrent/nn/rnn_init.h — initialisation schemes for recurrent stacks.
//
// Applied per gate block (each [H, ·] slice of a stacked weight is one block, as Keras and most
// papers do), so every gate gets a properly scaled or orthogonal matrix of its own.
//   weights  pytorch      U(-1/√H, 1/√H) for every parameter (the constructor's default)
//            uniform      U(-a, a)
//            xavier       Glorot & Bengio 2010: U(±√(6/(fan_in+fan_out)))
//            kaiming      He et al. 2015: N(0, 2/fan_in) (ReLU gain)
//   recurrent same         as `weights`
//            orthogonal   Saxe et al. 2014: each [H, R] block orthogonal (QR of a Gaussian matrix)
//            identity     IRNN, Le et al. 2015: each block = scale·I (needs R == H); biases zero
//   forget_bias           LSTM forget-gate bias (Jozefowicz et al. 2015 recommend 1): b_ih's f block
//                         gets the value and b_hh's f block 0, so their sum is the value.
#pragma once

#include <optional>

#include "recurrent/core/rng.h"
#include "recurrent/nn/rnn.h"

namespace recurrent {

struct RnnInit {
  enum class Weights { pytorch, uniform, xavier, kaiming };
  enum class Recurrent { same, orthogonal, identity };
  Weights weights = Weights::pytorch;
  float uniform_a = 0.08f;
  Recurrent recurrent = Recurrent::same;
  float identity_scale = 1.0f;
  bool zero_bias = false;
  std::optional<float> forget_bias;
};

void init_rnn(RNN& rnn, const RnnInit& init, Rng& rng);

// q: [rows, cols] with orthonormal rows (rows ≤ cols) or columns (rows ≥ cols). Exposed for tests.
void fill_orthogonal(float* q, int64_t rows, int64_t cols, int64_t ld, Rng& rng);

}  // namespace recurrent
