// src/audio/spectral.h — the feature pipeline's internal double-precision stages (features.h's
// contract). Public functions convert to float32 Tensors only at their boundary.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "recurrent/audio/features.h"
#include "recurrent/core/tensor.h"

namespace recurrent::audio::dsp {

// A row-major double matrix [rows, cols].
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Mat() = default;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  double& at(int64_t r, int64_t c) { return v[static_cast<size_t>(r * cols + c)]; }
  double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
  Tensor to_tensor() const;
  static Mat from(const Tensor& t);  // t: [rows, cols]
};

// Sample i of the signal padded by `pad` on the left (reflect or zeros beyond either end).
double padded_at(const std::vector<double>& x, int64_t i, int64_t pad, bool reflect);
// The pre-emphasised signal in double: x[i] - a * x[i-1].
std::vector<double> emphasised(const std::vector<float>& samples, double a);

// Power spectra one frame at a time (an FFTW plan and the window), for the whole-signal pipeline and
// the stream (feature_stream.h) alike, so both compute each frame with the same arithmetic.
class FramePower {
 public:
  explicit FramePower(const FeatureOptions& o);
  ~FramePower();
  // out[0 .. n_fft/2]: frame t of x (pre-emphasised), x padded by `pad` on the left.
  void frame(const std::vector<double>& x, int64_t t, int64_t pad, bool reflect, double* out);

 private:
  struct Impl;
  FeatureOptions o_;
  std::vector<double> window_;
  std::unique_ptr<Impl> impl_;
};

Mat matmul(const Mat& a, const Mat& b);                                    // [R, K] @ [K, C]
Mat power_spectrum(const std::vector<float>& samples, const FeatureOptions& o);  // [T, n_fft/2+1]
Mat filterbank(const FeatureOptions& o, double vtlp_alpha = 1.0);         // [n_fft/2+1, n_mels]
Mat dct(int n_mfcc, int n_mels, const std::string& norm);                  // [n_mels, n_mfcc]
Mat log_compress(Mat m, const FeatureOptions& o);
Mat deltas(const Mat& m, int win_length);                                  // [T, C] -> [T, C]

}  // namespace recurrent::audio::dsp
