// Writing WAV files through libsndfile (contract in recurrent/audio/wav.h).
#include <sndfile.h>

#include "recurrent/audio/wav.h"
#include "recurrent/core/error.h"

namespace recurrent::audio {

void write_wav(const std::string& path, const std::vector<float>& interleaved, int sample_rate, int channels,
               WavEncoding encoding) {
  RC_CHECK(sample_rate > 0, path, "sample rate must be positive, got ", sample_rate);
  RC_CHECK(channels >= 1, path, "channels must be >= 1, got ", channels);
  RC_CHECK(interleaved.size() % static_cast<size_t>(channels) == 0, path, interleaved.size(),
           " samples is not a whole number of ", channels, "-channel frames");
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = channels;
  const int sub = encoding == WavEncoding::pcm16   ? SF_FORMAT_PCM_16
                  : encoding == WavEncoding::pcm24 ? SF_FORMAT_PCM_24
                  : encoding == WavEncoding::pcm8  ? SF_FORMAT_PCM_U8
                                                   : SF_FORMAT_FLOAT;
  info.format = SF_FORMAT_WAV | sub;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  RC_CHECK(f != nullptr, path, "cannot write a WAV file: ", sf_strerror(nullptr));
  // Float to PCM: libsndfile scales to the full integer range; clip out-of-range values instead of wrapping.
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  const sf_count_t frames = static_cast<sf_count_t>(interleaved.size() / static_cast<size_t>(channels));
  const sf_count_t put = sf_writef_float(f, interleaved.data(), frames);
  const int closed = sf_close(f);
  RC_CHECK(put == frames && closed == 0, path, "short write: ", put, " of ", frames, " frames");
}

}  // namespace recurrent::audio
