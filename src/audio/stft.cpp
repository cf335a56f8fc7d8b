// Pre-emphasis, framing, windowing and the power spectrum through FFTW (features.h's contract).
//
// Framing follows torch.stft(center=True, pad_mode): the signal is padded by n_fft/2 on both sides
// (reflect: x[p], ..., x[1] | x | x[N-2], ...; constant: zeros), frame t covers padded samples
// [t*hop, t*hop + n_fft), and the window of win_length sits in the middle of the n_fft samples.
// FFTW plans are made with FFTW_ESTIMATE (no timing runs, so the same plan and result every run) and
// under a mutex (FFTW's planner is not thread-safe; executing a plan is).
#include <fftw3.h>

#include <memory>

#include <cmath>
#include <mutex>
#include <numbers>
#include <utility>

#include "recurrent/core/error.h"
#include "spectral.h"

namespace recurrent::audio {
namespace {

std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// One real-to-complex FFT of size n with its own aligned buffers.
class RealFft {
 public:
  explicit RealFft(int n) : n_(n) {
    in_ = fftw_alloc_real(static_cast<size_t>(n));
    out_ = fftw_alloc_complex(static_cast<size_t>(n / 2 + 1));
    std::lock_guard<std::mutex> lock(planner_mutex());
    plan_ = fftw_plan_dft_r2c_1d(n, in_, out_, FFTW_ESTIMATE);
  }
  ~RealFft() {
    {
      std::lock_guard<std::mutex> lock(planner_mutex());
      fftw_destroy_plan(plan_);
    }
    fftw_free(in_);
    fftw_free(out_);
  }
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;
  double* input() { return in_; }
  void run() { fftw_execute(plan_); }
  double re(int k) const { return out_[k][0]; }
  double im(int k) const { return out_[k][1]; }

 private:
  int n_;
  double* in_ = nullptr;
  fftw_complex* out_ = nullptr;
  fftw_plan plan_ = nullptr;
};

}  // namespace

std::vector<float> preemphasis(const std::vector<float>& x, double a) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] - (i ? a * x[i - 1] : 0.0));
  return y;
}

std::vector<double> analysis_window(const std::string& kind, int win_length, int n_fft) {
  // Periodic windows (torch.hann_window / hamming_window with periodic=True): divide by N, not N-1.
  std::vector<double> w(static_cast<size_t>(n_fft), 0.0);
  const int left = (n_fft - win_length) / 2;
  for (int i = 0; i < win_length; ++i) {
    const double phase = 2.0 * std::numbers::pi * i / win_length;
    double v = 1.0;
    if (kind == "hann") v = 0.5 - 0.5 * std::cos(phase);
    else if (kind == "hamming") v = 0.54 - 0.46 * std::cos(phase);
    else RC_CHECK(kind == "rectangular", "feature options", "window: expected hann, hamming or rectangular, got '", kind, "'");
    w[static_cast<size_t>(left + i)] = v;
  }
  return w;
}

namespace dsp {

double padded_at(const std::vector<double>& x, int64_t i, int64_t pad, bool reflect) {
  const int64_t n = static_cast<int64_t>(x.size());
  int64_t j = i - pad;
  if (j >= 0 && j < n) return x[static_cast<size_t>(j)];
  if (!reflect) return 0.0;
  j = j < 0 ? -j : 2 * (n - 1) - j;
  return x[static_cast<size_t>(j)];
}

std::vector<double> emphasised(const std::vector<float>& samples, double a) {
  std::vector<double> x(samples.begin(), samples.end());
  if (a > 0)
    for (size_t i = x.size(); i-- > 1;) x[i] -= a * samples[i - 1];
  return x;
}

struct FramePower::Impl {
  explicit Impl(int n) : fft(n) {}
  RealFft fft;
};

FramePower::FramePower(const FeatureOptions& o)
    : o_(o), window_(analysis_window(o.window, o.win_length, o.n_fft)), impl_(std::make_unique<Impl>(o.n_fft)) {}
FramePower::~FramePower() = default;

// out[k] = |FFT(window * padded x[t*hop .. t*hop + n_fft))_k|^power, k = 0..n_fft/2
void FramePower::frame(const std::vector<double>& x, int64_t t, int64_t pad, bool reflect, double* out) {
  RealFft& fft = impl_->fft;
  double* in = fft.input();
  for (int i = 0; i < o_.n_fft; ++i) in[i] = window_[static_cast<size_t>(i)] * padded_at(x, t * o_.hop_length + i, pad, reflect);
  fft.run();
  for (int k = 0; k < o_.n_fft / 2 + 1; ++k) {
    const double mag2 = fft.re(k) * fft.re(k) + fft.im(k) * fft.im(k);
    out[k] = o_.power == 2.0 ? mag2 : std::pow(std::sqrt(mag2), o_.power);
  }
}

// power: [T, n_fft/2+1], |FFT(window * frame_t)|^power
Mat power_spectrum(const std::vector<float>& samples, const FeatureOptions& o) {
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t pad = o.center ? o.n_fft / 2 : 0;
  const bool reflect = o.center && o.pad_mode == "reflect";
  RC_CHECK(!reflect || n > pad, "features", n, " samples is too short for reflect padding of ", pad,
           " (n_fft/2); expected more than ", pad, " samples, or pad_mode constant");
  const std::vector<double> x = emphasised(samples, o.preemphasis);
  const int64_t frames = num_frames(n, o);
  Mat out(frames, o.n_fft / 2 + 1);
  if (frames == 0) return out;
  FramePower fp(o);
  for (int64_t t = 0; t < frames; ++t) fp.frame(x, t, pad, reflect, &out.at(t, 0));
  return out;
}

Tensor Mat::to_tensor() const {
  Tensor t = Tensor::uninitialized({rows, cols});
  float* p = t.data();
  for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<float>(v[i]);
  return t;
}

Mat Mat::from(const Tensor& t) {
  RC_CHECK(t.dim() == 2, "features", "expected a [T, C] tensor, got ", shape_str(t.shape()));
  Tensor c = t.contiguous();
  Mat m(t.size(0), t.size(1));
  const float* p = std::as_const(c).data();
  for (size_t i = 0; i < m.v.size(); ++i) m.v[i] = p[i];
  return m;
}

Mat matmul(const Mat& a, const Mat& b) {
  Mat c(a.rows, b.cols);
  for (int64_t r = 0; r < a.rows; ++r)
    for (int64_t k = 0; k < a.cols; ++k) {
      const double s = a.at(r, k);
      if (s == 0.0) continue;
      for (int64_t j = 0; j < b.cols; ++j) c.at(r, j) += s * b.at(k, j);
    }
  return c;
}

}  // namespace dsp

Tensor power_spectrogram(const std::vector<float>& samples, const FeatureOptions& opts) {
  validate(opts);
  return dsp::power_spectrum(samples, opts).to_tensor();
}

}  // namespace recurrent::audio
