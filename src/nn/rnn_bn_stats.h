// lstm_bn's per-time-step running statistics, kept as the RNN module's buffers (Module::register_buffer; saved
// and loaded with the model like its parameters, never trained): per layer l and direction
//   bn_running_mean_ih_l{l}[_reverse], bn_running_var_ih_..., bn_running_mean_hh_..., bn_running_var_hh_...
//                                                     [S, G*H]   the x side's and h side's features
//   bn_running_mean_c_..., bn_running_var_c_...       [S, H]     c_t's
// S ≥ 1 steps: initially 1 (mean 0, variance 1, torch.nn.BatchNorm1d's start); a training call over T > S steps
// appends rows so started, then every time step t with n_t ≥ 2 valid rows moves row t towards its batch:
//   mean ← (1 − 0.1) mean + 0.1 μ_t        var ← (1 − 0.1) var + 0.1 σ²_t · n_t / (n_t − 1)
// (momentum 0.1 and the unbiased variance, as torch). A step with one valid row (a padded batch's longest
// sequence alone) leaves its row as it was. Evaluation reads row min(t, S − 1) (rnn_bn.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "nn/rnn_direction.h"
#include "recurrent/nn/rnn.h"

namespace recurrent::rnn {

// Buffer kinds in BnRunning's order (mean_ih, var_ih, mean_hh, var_hh, mean_c, var_c).
inline constexpr const char* kBnBufferKinds[6] = {"bn_running_mean_ih", "bn_running_var_ih", "bn_running_mean_hh",
                                                  "bn_running_var_hh",  "bn_running_mean_c", "bn_running_var_c"};

// The fresh buffer of kind k (0..5) of a layer with GH gate features and H units: [1, N], mean 0 / variance 1.
Tensor bn_initial_buffer(int k, int64_t GH, int64_t H);

// The population statistics of (layer, dir) as the engines read them; `keep` holds the tensors alive. Checks the
// buffers' shapes (a loaded checkpoint may hold anything): [S, G*H] and [S, H] with one S ≥ 1.
BnRunning bn_running_of(const RNN& rnn, size_t layer, int dir, int64_t GH, int64_t H, std::vector<Tensor>& keep);

// The running update above from one training call's batch statistics (DirTape::bn_batch [T, bn_batch_width]);
// valid [T, B] (empty: every row valid).
void bn_update_running(RNN& rnn, size_t layer, int dir, int64_t GH, int64_t H, const Tensor& bn_batch,
                       const std::vector<uint8_t>& valid, int64_t B);

}  // namespace recurrent::rnn
