// recurrent/audio/spec_augment.h — SpecAugment time and frequency masks (Park et al. 2019), for training.
//
// Each mask draws its width w = floor(u * param) and start s = floor(u' * (size - w)) with u, u' uniform
// in [0, 1) from the project's seeded Rng (torchaudio's mask_along_axis rule), and sets the band to
// `fill` (0 = the mean of normalised features). Frequency masks cover the same columns in each of the
// `blocks` stacked blocks ([c, Δc, ΔΔc]: blocks = 1 + deltas), time masks are at most
// max_time_fraction of T wide. Same seed, same masks.
#pragma once

#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"

namespace recurrent::audio {

struct SpecAugmentOptions {
  int freq_masks = 2;
  int freq_mask_param = 8;          // F: widest frequency mask (columns per block)
  int time_masks = 2;
  int time_mask_param = 20;         // T: widest time mask (frames)
  double max_time_fraction = 0.2;   // p: a time mask covers at most p * T frames
  float fill = 0.0f;
};

// In place on feats [T, D]; D divisible by blocks.
void spec_augment(Tensor& feats, const SpecAugmentOptions& opts, Rng& rng, int blocks = 1);

}  // namespace recurrent::audio
