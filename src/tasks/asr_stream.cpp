// AsrStream: a unidirectional CTC model on audio as it arrives (contract in tasks/asr.h).
//
//   samples → FeatureStream (rows final once their look-ahead is in) → groups of `stack` rows → RNN
//   steps with the state carried → argmax per step → CTC collapse (a run across pushes emitted once)
// The digits after the last push equal greedy decoding of the whole utterance (same features bit for
// bit, same steps; the last group is zero-padded as stack_frames pads it).
#include <algorithm>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/asr.h"

namespace recurrent::tasks {

AsrStream::AsrStream(AsrModel& m) : m_(m) {
  const AsrConfig& c = m.config();
  RC_CHECK(c.kind == AsrKind::ctc, "--stream", "this model is an isolated-digit classifier: it answers once per "
           "utterance (transcribe a file instead)");
  RC_CHECK(!c.bidirectional, "--stream", "this model is bidirectional: its backward layers read each utterance from "
           "its end, so no digit can be output before the audio is complete; stream with a unidirectional model "
           "(train asr without --bidirectional)");
  RC_CHECK(m.norm().finished(), "--stream", "this model normalises ",
           m.per_speaker() ? "by the speaker's mean and variance, which needs all of their audio"
                                                : "each utterance by its own mean and variance, which needs the whole utterance",
           "; stream with a model trained with --normalize global");
  m.eval();
  fs_ = std::make_unique<audio::FeatureStream>(c.front_end(), &m.norm());
}

AsrStream::~AsrStream() = default;

int64_t AsrStream::samples_in() const { return fs_->samples_in(); }

const std::vector<int>& AsrStream::push(const float* samples, size_t n) {
  feed(fs_->push(samples, n));
  return digits_;
}

const std::vector<int>& AsrStream::finish() {
  feed(fs_->finish());
  if (pending_rows_ > 0) {  // the last group, zero-padded
    const int64_t k = m_.config().stack, D = fs_->dims();
    Tensor g({k, D});
    std::copy_n(pending_.data(), pending_rows_ * D, g.data());
    pending_rows_ = 0;
    feed_groups(g.view({1, k * D}));
  }
  return digits_;
}

// rows [n, D] → whole groups of `stack` rows run through the model; the rest waits in pending_.
void AsrStream::feed(const Tensor& rows) {
  const int64_t k = m_.config().stack, D = fs_->dims(), n = rows.size(0);
  if (n == 0) return;
  if (!pending_.defined()) pending_ = Tensor({k, D});
  const Tensor r = rows.contiguous();
  std::vector<float> groups;
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(r.data() + i * D, D, pending_.data() + pending_rows_ * D);
    if (++pending_rows_ == k) {
      groups.insert(groups.end(), pending_.data(), pending_.data() + k * D);
      pending_rows_ = 0;
    }
  }
  const int64_t G = static_cast<int64_t>(groups.size()) / (k * D);
  if (G == 0) return;
  Tensor x({G, k * D});
  std::copy(groups.begin(), groups.end(), x.data());
  feed_groups(x);
}

// x [G, k·D]: G model steps.
void AsrStream::feed_groups(const Tensor& x) {
  NoGradGuard ng;
  const int64_t G = x.size(0), C = m_.config().classes();
  const Tensor logits = m_.forward(x.view({G, 1, x.size(1)}), {}, &state_).value().contiguous();
  for (int64_t t = 0; t < G; ++t) {
    const float* l = logits.data() + t * C;
    const int64_t best = std::max_element(l, l + C) - l;  // lowest index on ties, as best_path
    if (best != 0 && best != last_) digits_.push_back(static_cast<int>(best - 1));
    last_ = best;
  }
}

}  // namespace recurrent::tasks
