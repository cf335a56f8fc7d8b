// Sample-rate conversion through libsamplerate (contract in recurrent/audio/resample.h).
#include "recurrent/audio/resample.h"

#include <samplerate.h>

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent::audio {

std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate,
                            const std::string& where) {
  RC_CHECK(from_rate > 0 && to_rate > 0, where, "sample rates must be positive, got ", from_rate, " -> ", to_rate);
  if (from_rate == to_rate || samples.empty()) return samples;
  const double ratio = double(to_rate) / double(from_rate);
  RC_CHECK(src_is_valid_ratio(ratio), where, "cannot resample from ", from_rate, " Hz to ", to_rate,
           " Hz (ratio ", ratio, " is outside libsamplerate's 1/256..256)");
  // Room for the whole output plus libsamplerate's rounding; the exact count comes back.
  std::vector<float> out(static_cast<size_t>(std::ceil(double(samples.size()) * ratio)) + 16);
  SRC_DATA d{};
  d.data_in = samples.data();
  d.data_out = out.data();
  d.input_frames = static_cast<long>(samples.size());
  d.output_frames = static_cast<long>(out.size());
  d.src_ratio = ratio;
  d.end_of_input = 1;
  const int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
  RC_CHECK(err == 0, where, "resampling from ", from_rate, " Hz to ", to_rate, " Hz failed: ", src_strerror(err));
  out.resize(static_cast<size_t>(d.output_frames_gen));
  return out;
}

}  // namespace recurrent::audio
