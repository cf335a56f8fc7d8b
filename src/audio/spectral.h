// src/audio/spectral.h — the feature pipeline's internal double-precision stages (features.h's
// contract). Public functions convert to float32 Tensors only at their boundary.
#pragma once

#include <cstdint>
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

Mat matmul(const Mat& a, const Mat& b);                                    // [R, K] @ [K, C]
Mat power_spectrum(const std::vector<float>& samples, const FeatureOptions& o);  // [T, n_fft/2+1]
Mat filterbank(const FeatureOptions& o);                                   // [n_fft/2+1, n_mels]
Mat dct(int n_mfcc, int n_mels, const std::string& norm);                  // [n_mels, n_mfcc]
Mat log_compress(Mat m, const FeatureOptions& o);
Mat deltas(const Mat& m, int win_length);                                  // [T, C] -> [T, C]

}  // namespace recurrent::audio::dsp
