// recurrent/audio/wav.h — read audio files into mono float samples at the model's rate; write WAVs.
//
// Reading goes through libsndfile, so WAV (PCM 8/16/24/32-bit, float, double, u-law, A-law) and the
// other formats it knows (FLAC, OGG/Vorbis, AIFF, AU, ...) all load. Samples come out as float in
// [-1, 1) (integer PCM divided by 2^(bits-1), as torchaudio.load does; float files as stored).
//   - mono is kept; stereo is downmixed to the mean of its two channels (a note says so);
//     3 or more channels are refused (which channel is speech is not ours to guess);
//   - a file whose rate differs from `target_rate` is resampled (resample.h) and a note says from
//     what to what; a rate more than `far_ratio` away is noted as far ("check the file");
//   - 0 samples, a file libsndfile cannot open, and a truncated WAV header are one Error each,
//     naming the file and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recurrent::audio {

struct ReadOptions {
  int target_rate = 8000;  // the model's sample rate; 0 keeps the file's rate
  double far_ratio = 2.0;  // a file rate outside [target/far_ratio, target*far_ratio] gets a "far" note
};

struct Audio {
  std::vector<float> samples;      // mono, at sample_rate
  int sample_rate = 0;             // after resampling (== target_rate unless that is 0)
  int file_rate = 0;               // as stored in the file
  int file_channels = 0;           // as stored (1 or 2)
  std::string file_format;         // e.g. "WAV PCM_16", "WAV FLOAT", "FLAC PCM_24"
  std::vector<std::string> notes;  // conversions made, one line each, naming the file
  double seconds() const { return sample_rate ? double(samples.size()) / sample_rate : 0.0; }
};

// Throws recurrent::Error(path, ...) for a file that cannot be used (see the contract above).
Audio read_audio(const std::string& path, const ReadOptions& opts = {});
// The same from bytes in memory (an upload); `name` stands for the path in errors and notes.
Audio read_audio_bytes(std::string_view bytes, const std::string& name, const ReadOptions& opts = {});

// The sample encodings write_wav supports (the ones tests and the connected-digits builder need).
enum class WavEncoding { pcm16, pcm24, float32, pcm8 };  // pcm8: WAV's unsigned 8-bit

// Writes interleaved samples (frames * channels values in [-1, 1]; PCM is clipped) as a WAV file.
void write_wav(const std::string& path, const std::vector<float>& interleaved, int sample_rate,
               int channels = 1, WavEncoding encoding = WavEncoding::pcm16);

}  // namespace recurrent::audio
