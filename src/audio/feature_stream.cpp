// Streaming features (contract in recurrent/audio/feature_stream.h).
//
// State: the pre-emphasised signal so far (double, as the whole-signal pipeline makes it), the base
// rows (log-mel or MFCC) of every frame computed so far, and Δ rows. A frame is computed once all its
// samples are real (not end padding), or at finish(); a Δ row once its n base rows ahead exist (or at
// finish, with the end replicated), a ΔΔ row likewise from Δ rows.
#include "recurrent/audio/feature_stream.h"

#include <algorithm>

#include "recurrent/core/error.h"
#include "spectral.h"

namespace recurrent::audio {

struct FeatureStream::State {
  explicit State(const FeatureOptions& o)
      : power(o), fb(dsp::filterbank(o)), dct(o.kind == "mfcc" ? dsp::dct(o.n_mfcc, o.n_mels, o.dct_norm) : dsp::Mat()) {}
  dsp::FramePower power;
  dsp::Mat fb, dct;
  std::vector<float> raw;               // samples so far (pre-emphasis needs the previous one)
  std::vector<double> x;                // pre-emphasised
  std::vector<std::vector<double>> blocks[3];  // base, Δ, ΔΔ rows computed so far
  int64_t out = 0;                      // rows emitted
  bool done = false;
};

namespace {

// Row t of Δ from rows (the same sum, order and division as dsp::deltas); rows.size() - 1 clamps the end.
std::vector<double> delta_row(const std::vector<std::vector<double>>& rows, int64_t t, int64_t n) {
  const int64_t T = static_cast<int64_t>(rows.size());
  const double denom = double(n * (n + 1) * (2 * n + 1)) / 3.0;
  std::vector<double> d(rows[0].size(), 0.0);
  for (int64_t k = -n; k <= n; ++k) {
    if (k == 0) continue;
    const auto& r = rows[static_cast<size_t>(std::clamp<int64_t>(t + k, 0, T - 1))];
    for (size_t j = 0; j < d.size(); ++j) d[j] += double(k) * r[j];
  }
  for (double& v : d) v /= denom;
  return d;
}

}  // namespace

FeatureStream::FeatureStream(const FeatureOptions& opts, const GlobalNorm* global) : opts_(opts), global_(global) {
  validate(opts_);
  const std::string w = "feature stream";
  RC_CHECK(opts_.normalize != "utterance" && opts_.normalize != "speaker", w, "normalize=", opts_.normalize,
           " needs the whole ", opts_.normalize == "utterance" ? "utterance" : "of a speaker's audio",
           "; a stream takes none or global");
  RC_CHECK(opts_.log == "log" || opts_.top_db <= 0, w, "log=db with top_db > 0 floors at the utterance's maximum; "
           "a stream takes log, or db with top_db <= 0");
  RC_CHECK(opts_.normalize != "global" || (global_ && global_->finished() && global_->dims() == opts_.dims()), w,
           "normalize=global needs finished statistics of ", opts_.dims(), " columns");
  s_ = std::make_unique<State>(opts_);
}

FeatureStream::~FeatureStream() = default;

int64_t FeatureStream::rows_out() const { return s_->out; }
int64_t FeatureStream::samples_in() const { return static_cast<int64_t>(s_->raw.size()); }
int64_t FeatureStream::lookahead_samples() const {
  const int64_t L = int64_t(opts_.deltas) * ((opts_.delta_win_length - 1) / 2);
  return opts_.n_fft - opts_.n_fft / 2 + L * opts_.hop_length;
}

Tensor FeatureStream::push(const float* samples, size_t n) {
  RC_CHECK(!s_->done, "feature stream", "push after finish()");
  for (size_t i = 0; i < n; ++i) {
    const double prev = s_->raw.empty() ? 0.0 : s_->raw.back();
    s_->raw.push_back(samples[i]);
    s_->x.push_back(double(samples[i]) - (s_->raw.size() > 1 && opts_.preemphasis > 0 ? opts_.preemphasis * prev : 0.0));
  }
  return emit(false);
}

Tensor FeatureStream::finish() {
  RC_CHECK(!s_->done, "feature stream", "finish() called twice");
  s_->done = true;
  RC_CHECK(!s_->raw.empty() && num_frames(samples_in(), opts_) > 0, "feature stream", samples_in(),
           " samples is shorter than one frame (n_fft ", opts_.n_fft, ")");
  return emit(true);
}

// Computes what became final and returns the rows [out, ready) as a [k, D] tensor.
Tensor FeatureStream::emit(bool final) {
  State& s = *s_;
  const int64_t N = samples_in(), pad = opts_.center ? opts_.n_fft / 2 : 0;
  const bool reflect = opts_.center && opts_.pad_mode == "reflect";
  if (final)
    RC_CHECK(!reflect || N > pad, "feature stream", N, " samples is too short for reflect padding of ", pad);
  // Frames whose samples are all real: t*hop - pad + n_fft <= N (and the left reflection exists).
  int64_t frames = final ? num_frames(N, opts_) : (N - opts_.n_fft + pad < 0 ? 0 : (N - opts_.n_fft + pad) / opts_.hop_length + 1);
  if (!final && reflect && N <= pad) frames = 0;
  auto& base = s.blocks[0];
  const int64_t have = static_cast<int64_t>(base.size());
  if (frames > have) {
    dsp::Mat p(frames - have, opts_.n_fft / 2 + 1);
    for (int64_t t = have; t < frames; ++t) s.power.frame(s.x, t, pad, reflect, &p.at(t - have, 0));
    dsp::Mat b = dsp::log_compress(dsp::matmul(p, s.fb), opts_);
    if (opts_.kind == "mfcc") b = dsp::matmul(b, s.dct);
    for (int64_t r = 0; r < b.rows; ++r)
      base.emplace_back(b.v.begin() + r * b.cols, b.v.begin() + (r + 1) * b.cols);
  }
  const int64_t n = (opts_.delta_win_length - 1) / 2;
  for (int d = 1; d <= opts_.deltas; ++d) {  // Δ rows need n rows ahead of the block below
    auto &below = s.blocks[d - 1], &rows = s.blocks[d];
    const int64_t ready = final ? static_cast<int64_t>(below.size()) : static_cast<int64_t>(below.size()) - n;
    for (int64_t t = static_cast<int64_t>(rows.size()); t < ready; ++t) rows.push_back(delta_row(below, t, n));
  }
  const int64_t ready = static_cast<int64_t>(s.blocks[opts_.deltas].size());
  const int64_t C = opts_.base_dims(), D = opts_.dims();
  Tensor out({std::max<int64_t>(ready - s.out, 0), D});
  float* o = out.data();
  for (int64_t t = s.out; t < ready; ++t)
    for (int b = 0; b <= opts_.deltas; ++b)
      for (int64_t j = 0; j < C; ++j) o[(t - s.out) * D + b * C + j] = static_cast<float>(s.blocks[b][static_cast<size_t>(t)][static_cast<size_t>(j)]);
  s.out = std::max(s.out, ready);
  if (opts_.normalize == "global" && out.size(0) > 0) global_->apply(out);
  return out;
}

}  // namespace recurrent::audio
