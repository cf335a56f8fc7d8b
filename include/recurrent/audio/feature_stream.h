// recurrent/audio/feature_stream.h — the same features as compute_features, computed as audio arrives.
//
// push() takes the next samples (any chunk size, already at opts.sample_rate) and returns the feature
// rows that became final; finish() returns the rest (the last frames use the end padding, as the
// whole-signal pipeline does). Concatenated, the rows equal compute_features(all samples) exactly: each
// frame, mel, log, DCT and delta is computed by the same code in the same order (tested on random chunk
// sizes). Row t is final once the samples of frame t + L are in, L = deltas * (delta_win_length-1)/2
// (Δ looks L/deltas frames ahead, ΔΔ twice that); lookahead_samples() says how far past a frame's
// centre the stream waits: n_fft - n_fft/2 + L * hop (56 ms with the defaults at 8 kHz).
// Per-utterance normalisation and dB with a top_db floor need the whole utterance: a stream takes
// normalize none or global, and log, or db with top_db <= 0. Memory grows with the stream (samples and
// rows are kept); a recognizer restarts it at utterance boundaries.
#pragma once

#include <memory>
#include <vector>

#include "recurrent/audio/features.h"
#include "recurrent/audio/normalize.h"
#include "recurrent/core/tensor.h"

namespace recurrent::audio {

class FeatureStream {
 public:
  // Throws Error("feature stream", ...) for options a stream cannot honour; `global` as compute_features.
  explicit FeatureStream(const FeatureOptions& opts, const GlobalNorm* global = nullptr);
  ~FeatureStream();
  FeatureStream(const FeatureStream&) = delete;
  FeatureStream& operator=(const FeatureStream&) = delete;

  Tensor push(const float* samples, size_t n);  // [k, dims()], k >= 0 rows now final
  Tensor push(const std::vector<float>& samples) { return push(samples.data(), samples.size()); }
  Tensor finish();                               // the remaining rows; push/finish after it throw

  int64_t rows_out() const;          // rows returned so far
  int64_t samples_in() const;        // samples pushed so far
  int64_t lookahead_samples() const;
  int dims() const { return opts_.dims(); }

 private:
  struct State;
  Tensor emit(bool final);
  FeatureOptions opts_;
  const GlobalNorm* global_;
  std::unique_ptr<State> s_;
};

}  // namespace recurrent::audio
