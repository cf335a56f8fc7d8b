// recurrent/audio/features.h — speech features: log-mel filterbank and MFCC with deltas.
//
// Pipeline (each stage is a function below, the whole is compute_features):
//   samples [N] --pre-emphasis--> y[n] = x[n] - a*x[n-1], y[0] = x[0]   (torchaudio.functional.preemphasis)
//     --framing--> frames of n_fft samples every hop_length (center: reflect/zero pad n_fft/2 each side,
//                  as torch.stft); frames = 1 + N/hop (center) or 1 + (N - n_fft)/hop
//     --window--> periodic Hann/Hamming of win_length, zero-padded to n_fft in the middle (torch.stft)
//     --FFT (FFTW, double)--> |X_k|^power, k = 0..n_fft/2                         power: [T, F]
//     --mel--> power @ fb, fb [F, n_mels] triangular (torchaudio.functional.melscale_fbanks,
//              mel_scale htk|slaney, norm none|slaney)                                mel: [T, n_mels]
//     --log--> ln(mel + log_offset) (torchaudio MFCC(log_mels=True)), or dB: 10 log10(max(mel, 1e-10))
//              floored at max - top_db over the utterance (torchaudio AmplitudeToDB("power", top_db))
//     --kind mfcc: DCT-II--> logmel @ dct, dct [n_mels, n_mfcc] (torchaudio.functional.create_dct, ortho)
//     --deltas--> [c, Δc, ΔΔc] with Δ = compute_deltas(c, win_length) (torchaudio: replicate padding,
//                 Σ_{k=-n..n} k c[t+k] / (n(n+1)(2n+1)/3), n = (win-1)/2); ΔΔ = Δ of Δ      [T, D]
//     --normalize--> none | per utterance (each column to mean 0, variance 1 over T) | global (GlobalNorm
//                    of the training set) | speaker (a GlobalNorm of all of one speaker's utterances)
// Every tensor is time-major [T, dims] (what a recurrent layer takes), the transpose of torchaudio's.
// Arithmetic is in double; results are stored as float32. Checked against torchaudio 0.13 on the
// fixtures of scripts/fixtures/make_audio_fixtures.py (tolerances in docs/audio.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent::audio {

class GlobalNorm;

// Option names follow torchaudio (MelSpectrogram / MFCC / compute_deltas); defaults suit 8 kHz
// speech: 25 ms window, 10 ms hop, 40 mels over 20..4000 Hz, 13 MFCC + Δ + ΔΔ = 39 dims.
struct FeatureOptions {
  std::string kind = "mfcc";          // mfcc | fbank (log-mel)
  int sample_rate = 8000;             // Hz; the audio must already be at this rate (read_audio resamples)
  double preemphasis = 0.97;          // coefficient a; 0 = off
  int n_fft = 256;                    // FFT size (>= win_length)
  int win_length = 200;               // samples (25 ms at 8 kHz)
  int hop_length = 80;                // samples (10 ms at 8 kHz)
  std::string window = "hann";        // hann | hamming | rectangular (periodic, as torch.*_window)
  bool center = true;                 // pad n_fft/2 on both sides (torch.stft center=True)
  std::string pad_mode = "reflect";   // reflect | constant (zeros); used when center
  double power = 2.0;                 // exponent of the magnitude: 2 power, 1 magnitude
  int n_mels = 40;
  double f_min = 20.0;                // Hz
  double f_max = 0.0;                 // Hz; 0 means sample_rate / 2
  std::string mel_scale = "htk";      // htk | slaney
  std::string norm = "none";          // mel filter norm: none | slaney (area-normalised triangles)
  std::string log = "log";            // log: ln(x + log_offset) | db: AmplitudeToDB with top_db
  double log_offset = 1e-6;           // torchaudio MFCC's log_mels offset
  double top_db = 80.0;               // db only; <= 0: no floor
  int n_mfcc = 13;                    // kind mfcc
  std::string dct_norm = "ortho";     // ortho | none (torchaudio create_dct's norm)
  int deltas = 2;                     // 0: none, 1: + Δ, 2: + Δ + ΔΔ
  int delta_win_length = 5;           // odd, >= 3
  std::string normalize = "utterance";  // none | utterance | global | speaker (both need a GlobalNorm)
  double norm_eps = 1e-5;             // variance floor of the normalisations

  int base_dims() const { return kind == "mfcc" ? n_mfcc : n_mels; }  // before deltas
  int dims() const { return base_dims() * (1 + deltas); }              // D, the feature width
  double max_freq() const { return f_max > 0 ? f_max : sample_rate / 2.0; }
};

// Throws recurrent::Error("feature options", ...) naming the option and what was expected.
void validate(const FeatureOptions& opts);

// The options as name -> value strings (the field names above; bools "true"/"false", doubles at full
// precision) and back: a model records the front end it was trained with in its file's metadata, the
// fixtures carry theirs. from_map starts from the defaults, takes the keys it knows and refuses any
// other key or an unparsable value, naming it and `where`; then validates.
std::map<std::string, std::string> to_map(const FeatureOptions& opts);
FeatureOptions feature_options_from_map(const std::map<std::string, std::string>& kv, const std::string& where,
                                        bool ignore_unknown = false);

// Number of frames T for n samples (0 if too short to frame).
int64_t num_frames(int64_t n_samples, const FeatureOptions& opts);

std::vector<float> preemphasis(const std::vector<float>& x, double coeff);
// The analysis window of win_length zero-padded to n_fft, centred (torch.stft's placement). [n_fft]
std::vector<double> analysis_window(const std::string& kind, int win_length, int n_fft);
// Mel filterbank, torchaudio.functional.melscale_fbanks's layout: [n_freqs, n_mels].
Tensor mel_filterbank(int n_freqs, double f_min, double f_max, int n_mels, int sample_rate,
                      const std::string& mel_scale, const std::string& norm);
// DCT-II matrix, torchaudio.functional.create_dct's layout: [n_mels, n_mfcc].
Tensor dct_matrix(int n_mfcc, int n_mels, const std::string& norm);
double hz_to_mel(double hz, const std::string& mel_scale);
double mel_to_hz(double mel, const std::string& mel_scale);
// Vocal tract length perturbation's frequency warp (mel.cpp: Jaitly & Hinton 2013): α·hz below a
// boundary, then linear to the Nyquist frequency, which maps to itself; continuous and increasing.
double vtlp_warp(double hz, double alpha, double nyquist);

// The stages on samples already at opts.sample_rate (pre-emphasis included in both).
Tensor power_spectrogram(const std::vector<float>& samples, const FeatureOptions& opts);  // [T, n_fft/2+1]
Tensor mel_spectrogram(const std::vector<float>& samples, const FeatureOptions& opts);    // [T, n_mels]
// log / dB compression of a mel (or any power) spectrogram, as opts.log says. [T, C] -> [T, C]
Tensor log_compress(const Tensor& mel, const FeatureOptions& opts);
// torchaudio.functional.compute_deltas along time: [T, C] -> [T, C]. win_length odd >= 3.
Tensor compute_deltas(const Tensor& feats, int win_length);

// The whole pipeline: [T, opts.dims()]. `where` names the source in errors (a file name);
// normalize = global or speaker needs `global` (statistics of the same width: the training set's or the
// speaker's). vtlp_alpha ≠ 1: a training
// augmentation, the spectrum read as warped by vtlp_warp(·, α) (mel.cpp; not part of a model's front end).
Tensor compute_features(const std::vector<float>& samples, const FeatureOptions& opts,
                        const std::string& where = "features", const GlobalNorm* global = nullptr,
                        double vtlp_alpha = 1.0);

}  // namespace recurrent::audio
