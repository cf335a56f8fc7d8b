// libFuzzer harness: audio files through read_audio (audio/wav.h: libsndfile, the checks, the
// stereo downmix, resampling to the model's 8 kHz), from a scratch file as the reader takes a path, and
// the same bytes from memory (read_audio_bytes: an upload to `recurrent serve`), which must agree.
#include <cmath>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "recurrent/audio/wav.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchFile file("fuzz.wav");
  const std::string& path = file.write(data, size);
  std::vector<float> from_file, from_memory;
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const audio::Audio a = audio::read_audio(path, {});
    if (a.samples.empty() || a.sample_rate != 8000) fuzz::fail("a.samples.empty() || a.sample_rate != 8000");
    from_file = a.samples;
  });
  RECURRENT_FUZZ_EXPECT_ERRORS({
    from_memory = audio::read_audio_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "body", {}).samples;
  });
  if (from_file.size() != from_memory.size()) fuzz::fail("read_audio and read_audio_bytes disagree");
  return 0;
}
