// recurrent/audio/resample.h — sample-rate conversion of mono float audio (libsamplerate).
//
// Band-limited sinc interpolation (libsamplerate's SRC_SINC_MEDIUM_QUALITY: 121 dB SNR, 90% of the
// lower Nyquist band kept; BEST_QUALITY's 145 dB cost 3-4 times as much for nothing speech features
// see), so speech recorded at 16/22.05/44.1/48 kHz comes down to a model's 8 kHz without aliasing,
// and 8 kHz goes up without images. The output has
// round(n * to / from) samples (libsamplerate's own count, flushed to the end of the input).
#pragma once

#include <string>
#include <vector>

namespace recurrent::audio {

// `where` names the source in errors (a file name). from, to > 0; from == to returns a copy.
std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate,
                            const std::string& where = "resample");

}  // namespace recurrent::audio
