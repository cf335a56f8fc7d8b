// Mean/variance normalisation (contract in recurrent/audio/normalize.h).
#include "recurrent/audio/normalize.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent::audio {

void normalize_utterance(Tensor& feats, double eps) {
  RC_CHECK(feats.dim() == 2 && feats.size(0) >= 1, "normalize_utterance", "expected features [T >= 1, D], got ",
           shape_str(feats.shape()));
  RC_CHECK(feats.is_contiguous(), "normalize_utterance", "expected contiguous features");
  const int64_t T = feats.size(0), D = feats.size(1);
  float* x = feats.data();
  for (int64_t j = 0; j < D; ++j) {
    double s = 0, s2 = 0;
    for (int64_t t = 0; t < T; ++t) s += x[t * D + j];
    const double mean = s / T;
    for (int64_t t = 0; t < T; ++t) s2 += (x[t * D + j] - mean) * (x[t * D + j] - mean);
    const double inv = 1.0 / std::sqrt(s2 / T + eps);
    for (int64_t t = 0; t < T; ++t) x[t * D + j] = static_cast<float>((x[t * D + j] - mean) * inv);
  }
}

GlobalNorm::GlobalNorm(Tensor mean, Tensor stddev) : mean_(mean.contiguous()), stddev_(stddev.contiguous()) {
  RC_CHECK(mean_.dim() == 1 && stddev_.same_shape(mean_), "global normalisation",
           "expected mean and stddev of the same shape [D], got ", shape_str(mean_.shape()), " and ",
           shape_str(stddev_.shape()));
  for (float s : stddev_.to_vector())
    RC_CHECK(s > 0 && std::isfinite(s), "global normalisation", "stddev must be positive and finite, got ", s);
}

void GlobalNorm::add(const Tensor& feats) {
  RC_CHECK(!finished(), "global normalisation", "add() after finish()");
  RC_CHECK(feats.dim() == 2, "global normalisation", "expected features [T, D], got ", shape_str(feats.shape()));
  const int64_t T = feats.size(0), D = feats.size(1);
  if (sum_.empty()) sum_.assign(static_cast<size_t>(D), 0.0), sum_sq_.assign(static_cast<size_t>(D), 0.0);
  RC_CHECK(static_cast<int64_t>(sum_.size()) == D, "global normalisation", "expected ", sum_.size(),
           " feature columns (as the first utterance), got ", D);
  const Tensor c = feats.contiguous();
  const float* x = c.data();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < D; ++j) {
      sum_[static_cast<size_t>(j)] += x[t * D + j];
      sum_sq_[static_cast<size_t>(j)] += double(x[t * D + j]) * x[t * D + j];
    }
  count_ += T;
}

void GlobalNorm::finish(double eps) {
  RC_CHECK(count_ > 0, "global normalisation", "no frames were added; expected at least one utterance");
  const int64_t D = static_cast<int64_t>(sum_.size());
  mean_ = Tensor({D});
  stddev_ = Tensor({D});
  for (int64_t j = 0; j < D; ++j) {
    const double m = sum_[static_cast<size_t>(j)] / count_;
    const double var = std::max(0.0, sum_sq_[static_cast<size_t>(j)] / count_ - m * m);
    mean_.data()[j] = static_cast<float>(m);
    stddev_.data()[j] = static_cast<float>(std::sqrt(var + eps));
  }
}

void GlobalNorm::apply(Tensor& feats) const {
  RC_CHECK(finished(), "global normalisation", "statistics not finished (call finish() after add())");
  RC_CHECK(feats.dim() == 2 && feats.size(1) == mean_.numel() && feats.is_contiguous(), "global normalisation",
           "expected contiguous features [T, ", mean_.numel(), "], got ", shape_str(feats.shape()));
  const int64_t T = feats.size(0), D = feats.size(1);
  const float* m = mean_.data();
  const float* s = stddev_.data();
  float* x = feats.data();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < D; ++j) x[t * D + j] = (x[t * D + j] - m[j]) / s[j];
}

}  // namespace recurrent::audio
