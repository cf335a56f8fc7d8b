// Log compression and deltas (features.h's contract).
//
// log: ln(x + log_offset)                                   (torchaudio MFCC(log_mels=True))
// db:  10 log10(max(x, 1e-10)), then max(., max_all - top_db)  (torchaudio AmplitudeToDB("power", top_db);
//      the floor is relative to the largest value of the whole utterance, as torchaudio's for one channel)
// deltas (torchaudio.functional.compute_deltas, mode "replicate"), n = (win_length - 1) / 2:
//      d[t] = sum_{k=-n..n} k * c[clamp(t + k, 0, T-1)] / (n (n+1) (2n+1) / 3)
#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"
#include "spectral.h"

namespace recurrent::audio {
namespace dsp {

Mat log_compress(Mat m, const FeatureOptions& o) {
  if (o.log == "log") {
    for (double& x : m.v) x = std::log(x + o.log_offset);
    return m;
  }
  double top = -INFINITY;
  for (double& x : m.v) {
    x = 10.0 * std::log10(std::max(x, 1e-10));
    top = std::max(top, x);
  }
  if (o.top_db > 0)
    for (double& x : m.v) x = std::max(x, top - o.top_db);
  return m;
}

// c: [T, C] -> d: [T, C]
Mat deltas(const Mat& c, int win_length) {
  const int64_t n = (win_length - 1) / 2, T = c.rows;
  const double denom = double(n * (n + 1) * (2 * n + 1)) / 3.0;
  Mat d(c.rows, c.cols);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = -n; k <= n; ++k) {
      if (k == 0) continue;
      const int64_t s = std::clamp<int64_t>(t + k, 0, T - 1);
      for (int64_t j = 0; j < c.cols; ++j) d.at(t, j) += double(k) * c.at(s, j);
    }
  for (double& x : d.v) x /= denom;
  return d;
}

}  // namespace dsp

Tensor log_compress(const Tensor& mel, const FeatureOptions& opts) {
  validate(opts);
  return dsp::log_compress(dsp::Mat::from(mel), opts).to_tensor();
}

Tensor compute_deltas(const Tensor& feats, int win_length) {
  RC_CHECK(win_length >= 3 && win_length % 2 == 1, "compute_deltas",
           "win_length: expected an odd number >= 3, got ", win_length);
  return dsp::deltas(dsp::Mat::from(feats), win_length).to_tensor();
}

}  // namespace recurrent::audio
