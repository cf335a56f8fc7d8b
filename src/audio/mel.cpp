// Mel scale, mel filterbank and DCT matrix, as torchaudio 0.13 computes them (features.h's contract).
//
// htk:    mel = 2595 log10(1 + f / 700)
// slaney: mel = f / (200/3) below 1 kHz, 15 + ln(f / 1000) / (ln 6.4 / 27) above (Slaney's Auditory
//         Toolbox, librosa's default).
// Filterbank (torchaudio.functional.melscale_fbanks): bin k's frequency is k * (sample_rate div 2) /
// (n_freqs - 1); n_mels + 2 points equally spaced in mel between f_min and f_max; filter m is the
// triangle rising from point m to m+1 and falling to m+2, max(0, min(down, up)); norm slaney divides
// each triangle by its width in Hz / 2 (equal area).
// VTLP (Jaitly & Hinton 2013, "Vocal Tract Length Perturbation improves speech recognition"): the spectrum's
// frequencies f go through the piecewise-linear warp f' = α·f up to f0 = F_hi·min(α, 1)/α, then the line
// from there to the Nyquist frequency, which stays put. F_hi: the paper's 4800 Hz of 8 kHz Nyquist, i.e.
// 0.6 of the Nyquist frequency here (at 8 kHz 4800 Hz would lie above it). Done on the filters instead of
// the spectrum, as Kaldi's VTLN does: their points are warped by 1/α, so a component at f is read as at
// about α·f (α > 1: the spectrum stretched, as from a shorter vocal tract).
// DCT (torchaudio.functional.create_dct, DCT-II): dct[n, k] = cos(pi / n_mels * (n + 0.5) * k), times
// sqrt(2 / n_mels) and 1/sqrt(2) for k = 0 (ortho), or times 2 (none).
#include <cmath>
#include <numbers>

#include "recurrent/core/error.h"
#include "spectral.h"

namespace recurrent::audio {
namespace {

constexpr double kSlaneyStep = 200.0 / 3.0;  // Hz per mel in the linear part
constexpr double kSlaneyMinLogHz = 1000.0;
constexpr double kSlaneyMinLogMel = kSlaneyMinLogHz / kSlaneyStep;  // 15
const double kSlaneyLogStep = std::log(6.4) / 27.0;

}  // namespace

double hz_to_mel(double hz, const std::string& scale) {
  if (scale == "htk") return 2595.0 * std::log10(1.0 + hz / 700.0);
  if (hz < kSlaneyMinLogHz) return hz / kSlaneyStep;
  return kSlaneyMinLogMel + std::log(hz / kSlaneyMinLogHz) / kSlaneyLogStep;
}

double mel_to_hz(double mel, const std::string& scale) {
  if (scale == "htk") return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  if (mel < kSlaneyMinLogMel) return mel * kSlaneyStep;
  return kSlaneyMinLogHz * std::exp(kSlaneyLogStep * (mel - kSlaneyMinLogMel));
}

double vtlp_warp(double hz, double alpha, double nyquist) {
  const double f_hi = 0.6 * nyquist, m = std::min(alpha, 1.0);
  const double f0 = f_hi * m / alpha;
  if (hz <= f0) return alpha * hz;
  return nyquist - (nyquist - f_hi * m) / (nyquist - f0) * (nyquist - hz);
}

namespace dsp {

Mat filterbank(const FeatureOptions& o, double vtlp_alpha) {
  const int n_freqs = o.n_fft / 2 + 1, n_mels = o.n_mels;
  const double m_min = hz_to_mel(o.f_min, o.mel_scale), m_max = hz_to_mel(o.max_freq(), o.mel_scale);
  std::vector<double> f_pts(static_cast<size_t>(n_mels + 2));
  const double nyquist = static_cast<double>(o.sample_rate / 2);  // torchaudio: sample_rate // 2
  for (int i = 0; i < n_mels + 2; ++i) {
    const double f = mel_to_hz(m_min + (m_max - m_min) * i / (n_mels + 1), o.mel_scale);
    f_pts[static_cast<size_t>(i)] = vtlp_alpha == 1.0 ? f : vtlp_warp(f, 1.0 / vtlp_alpha, nyquist);
  }
  Mat fb(n_freqs, n_mels);
  for (int k = 0; k < n_freqs; ++k) {
    const double f = n_freqs > 1 ? nyquist * k / (n_freqs - 1) : 0.0;
    for (int m = 0; m < n_mels; ++m) {
      const double lo = f_pts[static_cast<size_t>(m)], mid = f_pts[static_cast<size_t>(m + 1)],
                   hi = f_pts[static_cast<size_t>(m + 2)];
      const double down = (f - lo) / (mid - lo), up = (hi - f) / (hi - mid);
      double w = std::max(0.0, std::min(down, up));
      if (o.norm == "slaney") w *= 2.0 / (hi - lo);
      fb.at(k, m) = w;
    }
  }
  return fb;
}

Mat dct(int n_mfcc, int n_mels, const std::string& norm) {
  Mat d(n_mels, n_mfcc);
  for (int n = 0; n < n_mels; ++n)
    for (int k = 0; k < n_mfcc; ++k) {
      double v = std::cos(std::numbers::pi / n_mels * (n + 0.5) * k);
      if (norm == "ortho") v *= std::sqrt(2.0 / n_mels) * (k == 0 ? 1.0 / std::sqrt(2.0) : 1.0);
      else v *= 2.0;
      d.at(n, k) = v;
    }
  return d;
}

}  // namespace dsp

Tensor mel_filterbank(int n_freqs, double f_min, double f_max, int n_mels, int sample_rate,
                      const std::string& mel_scale, const std::string& norm) {
  FeatureOptions o;
  o.n_fft = 2 * (n_freqs - 1);
  o.win_length = o.n_fft;
  o.f_min = f_min;
  o.f_max = f_max;
  o.n_mels = n_mels;
  o.sample_rate = sample_rate;
  o.mel_scale = mel_scale;
  o.norm = norm;
  RC_CHECK(n_freqs >= 2, "mel_filterbank", "n_freqs: expected >= 2, got ", n_freqs);
  validate(o);
  return dsp::filterbank(o).to_tensor();
}

Tensor dct_matrix(int n_mfcc, int n_mels, const std::string& norm) {
  RC_CHECK(n_mfcc >= 1 && n_mfcc <= n_mels, "dct_matrix", "n_mfcc: expected 1..n_mels (", n_mels, "), got ", n_mfcc);
  RC_CHECK(norm == "ortho" || norm == "none", "dct_matrix", "norm: expected ortho or none, got '", norm, "'");
  return dsp::dct(n_mfcc, n_mels, norm).to_tensor();
}

}  // namespace recurrent::audio
