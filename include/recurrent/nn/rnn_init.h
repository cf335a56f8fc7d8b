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
//   chrono_tmax           LSTM "chrono" initialisation (Tallec & Ollivier 2018, "Can recurrent neural
//                         networks warp time?"): per unit b_f = log u, u ~ U(1, T_max − 1), and b_i = −b_f
//                         (in b_ih; b_hh's i and f blocks 0), so the forget gates start with memory times
//                         spread over 1 … T_max steps and the input gates mostly closed, which keeps the
//                         cell from filling up with every input. Overrides forget_bias. Needs T_max > 2.
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
  std::optional<float> chrono_tmax;
};

void init_rnn(RNN& rnn, const RnnInit& init, Rng& rng);

// q: [rows, cols] with orthonormal rows (rows ≤ cols) or columns (rows ≥ cols). Exposed for tests.
void fill_orthogonal(float* q, int64_t rows, int64_t cols, int64_t ld, Rng& rng);

}  // namespace recurrent
