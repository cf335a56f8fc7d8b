// The feature pipeline end to end (contract in recurrent/audio/features.h).
#include "recurrent/audio/features.h"

#include "recurrent/audio/normalize.h"
#include "recurrent/core/error.h"
#include "spectral.h"

namespace recurrent::audio {

Tensor mel_spectrogram(const std::vector<float>& samples, const FeatureOptions& opts) {
  validate(opts);
  return dsp::matmul(dsp::power_spectrum(samples, opts), dsp::filterbank(opts)).to_tensor();
}

Tensor compute_features(const std::vector<float>& samples, const FeatureOptions& o, const std::string& where,
                        const GlobalNorm* global, double vtlp_alpha) {
  validate(o);
  RC_CHECK(!samples.empty(), where, "0 samples; expected audio");
  RC_CHECK(num_frames(static_cast<int64_t>(samples.size()), o) > 0, where, samples.size(),
           " samples is shorter than one frame (n_fft ", o.n_fft, ")");
  const bool stats = o.normalize == "global" || o.normalize == "speaker";
  RC_CHECK(!stats || (global && global->finished() && global->dims() == o.dims()), where, "normalize=", o.normalize,
           " needs finished statistics", o.normalize == "speaker" ? " (the speaker's)" : "", " of ", o.dims(), " columns",
           global ? detail::concat(" (got ", global->dims(), ")") : std::string(" (none given)"));
  dsp::Mat base;
  try {
    // mel: [T, n_mels] -> log -> (mfcc: @ dct [n_mels, n_mfcc])
    base = dsp::log_compress(dsp::matmul(dsp::power_spectrum(samples, o), dsp::filterbank(o, vtlp_alpha)), o);
  } catch (const Error& e) {
    throw Error(where, e.message());
  }
  if (o.kind == "mfcc") base = dsp::matmul(base, dsp::dct(o.n_mfcc, o.n_mels, o.dct_norm));
  // [T, C] blocks side by side: c, Δc, ΔΔc
  std::vector<dsp::Mat> blocks{base};
  for (int d = 0; d < o.deltas; ++d) blocks.push_back(dsp::deltas(blocks.back(), o.delta_win_length));
  const int64_t T = base.rows, C = base.cols;
  dsp::Mat all(T, C * static_cast<int64_t>(blocks.size()));
  for (size_t b = 0; b < blocks.size(); ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < C; ++j) all.at(t, static_cast<int64_t>(b) * C + j) = blocks[b].at(t, j);
  Tensor out = all.to_tensor();
  if (o.normalize == "utterance") normalize_utterance(out, o.norm_eps);
  if (stats) global->apply(out);
  return out;
}

}  // namespace recurrent::audio
