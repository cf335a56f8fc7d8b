// SpecAugment masks (contract in recurrent/audio/spec_augment.h).
#include "recurrent/audio/spec_augment.h"

#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent::audio {
namespace {

// [start, start + width) within [0, size), torchaudio's mask_along_axis draw.
std::pair<int64_t, int64_t> draw_band(Rng& rng, int64_t param, int64_t size) {
  const int64_t w = std::min<int64_t>(size, static_cast<int64_t>(std::floor(rng.uniform() * double(param))));
  const int64_t s = static_cast<int64_t>(std::floor(rng.uniform() * double(size - w)));
  return {s, s + w};
}

}  // namespace

void spec_augment(Tensor& feats, const SpecAugmentOptions& o, Rng& rng, int blocks) {
  const std::string w = "spec_augment";
  RC_CHECK(feats.dim() == 2 && feats.is_contiguous(), w, "expected contiguous features [T, D], got ",
           shape_str(feats.shape()));
  RC_CHECK(blocks >= 1 && feats.size(1) % blocks == 0, w, "feature width ", feats.size(1),
           " is not divisible into ", blocks, " blocks");
  RC_CHECK(o.freq_masks >= 0 && o.time_masks >= 0 && o.freq_mask_param >= 0 && o.time_mask_param >= 0, w,
           "mask counts and widths must be >= 0");
  RC_CHECK(o.max_time_fraction >= 0 && o.max_time_fraction <= 1, w, "max_time_fraction: expected 0..1, got ",
           o.max_time_fraction);
  const int64_t T = feats.size(0), D = feats.size(1), C = D / blocks;
  float* x = feats.data();
  for (int m = 0; m < o.freq_masks; ++m) {
    const auto [f0, f1] = draw_band(rng, std::min<int64_t>(o.freq_mask_param, C), C);
    for (int64_t t = 0; t < T; ++t)
      for (int b = 0; b < blocks; ++b)
        for (int64_t j = f0; j < f1; ++j) x[t * D + b * C + j] = o.fill;
  }
  const int64_t tmax = std::min<int64_t>(o.time_mask_param, static_cast<int64_t>(o.max_time_fraction * double(T)));
  for (int m = 0; m < o.time_masks; ++m) {
    const auto [t0, t1] = draw_band(rng, tmax, T);
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t j = 0; j < D; ++j) x[t * D + j] = o.fill;
  }
}

}  // namespace recurrent::audio
