// recurrent/audio/normalize.h — mean/variance normalisation of features [T, D].
//
// Per utterance: each column j becomes (x - mean_j) / sqrt(var_j + eps) over the utterance's T frames
// (population variance). Global: the same with mean and variance over every frame of a training set,
// gathered once (add() per utterance, then finish()) and applied unchanged to valid/test/inference
// audio; the statistics are two [D] tensors a model can save beside its weights.
#pragma once

#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent::audio {

// In place; feats: [T, D], T >= 1.
void normalize_utterance(Tensor& feats, double eps = 1e-5);

class GlobalNorm {
 public:
  GlobalNorm() = default;
  GlobalNorm(Tensor mean, Tensor stddev);  // finished statistics, e.g. loaded from a file: [D] each

  void add(const Tensor& feats);  // feats: [T, D]; D fixed by the first call
  void finish(double eps = 1e-5);  // stddev = sqrt(var + eps); needs at least one frame
  bool finished() const { return mean_.defined(); }
  int64_t dims() const { return mean_.defined() ? mean_.numel() : static_cast<int64_t>(sum_.size()); }
  int64_t frames() const { return count_; }
  const Tensor& mean() const { return mean_; }      // [D]
  const Tensor& stddev() const { return stddev_; }  // [D]

  void apply(Tensor& feats) const;  // in place: (x - mean) / stddev; feats [T, D]

 private:
  std::vector<double> sum_, sum_sq_;  // per column, over all frames added
  int64_t count_ = 0;
  Tensor mean_, stddev_;
};

}  // namespace recurrent::audio
