// libFuzzer harness: audio files through read_audio (audio/wav.h: libsndfile, the checks, the
// stereo downmix, resampling to the model's 8 kHz), from a scratch file as the reader takes a path.
#include <cmath>

#include "fuzz_util.h"
#include "recurrent/audio/wav.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchFile file("fuzz.wav");
  const std::string& path = file.write(data, size);
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const audio::Audio a = audio::read_audio(path, {});
    if (a.samples.empty() || a.sample_rate != 8000) fuzz::fail("a.samples.empty() || a.sample_rate != 8000");
  });
  return 0;
}
