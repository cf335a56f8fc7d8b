// recurrent/tasks/ctc_decode.h — turning CTC frame scores into token sequences and timestamps.
//
// Input: one utterance's per-frame log-probabilities lp_t(c), t < T, c < C (the log_softmax of a CTC
// model's output), as a FrameView over a [T, C] tensor or one column of a [T, B, C] batch.
// B(π) collapses a frame path: merge repeats, then drop blanks ("aa-ab-" → "aab").
//
//  * greedy_decode — best path (Graves et al. 2006, §3.2): π*_t = argmax_c lp_t(c), y = B(π*). Ties go
//    to the lowest class index. Hypothesis.log_prob is log p(π*) (the path, not the label sequence).
//  * prefix_beam_search — Hannun et al. 2014 ("First-pass LVCSR with bidirectional RNNs", Alg. 1): keeps
//    per prefix ℓ the probabilities p_b(ℓ), p_nb(ℓ) of the frame paths so far that collapse to ℓ and end
//    in a blank / in ℓ's last token, merges every path of a prefix, and keeps the `beam` best prefixes
//    by   score(ℓ) = log(p_b + p_nb) + alpha · Σ_i log prior(y_i | y_<i) + beta · |ℓ|.
//    The prior enters once per token, when ℓ is extended — the same as Hannun's p(c | ℓ)^alpha factor
//    on the extension's mass, kept apart so Hypothesis.log_prob stays the acoustic log p(ℓ | x) (exact
//    when the beam never drops a prefix). Any callable scoring a token after a prefix plugs in (the
//    project's LMs, NgramPrior of tasks/ngram_prior.h, a word model that scores only at word ends).
//  * forced_align — the best frame path among those that collapse to a given token sequence (Viterbi
//    over the CTC trellis: the forward recursion with max for log-sum-exp), for timestamps of a
//    decoded or known transcript; token_spans turns any frame path into per-token frame ranges.
//
// Everything is computed in double; the decoders are single-threaded per utterance (run utterances in
// parallel). Errors name the function and the argument (recurrent::Error).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent::tasks {

// Frame t, class c at data[t * stride + c]; t < frames, c < classes.
struct FrameView {
  const float* data = nullptr;
  int64_t frames = 0, classes = 0, stride = 0;
  float at(int64_t t, int64_t c) const { return data[t * stride + c]; }
};
// A contiguous [T, C] tensor (all frames), or column b of a contiguous [T, B, C] tensor, first `length`
// frames (length ≤ T). The tensor must outlive the view.
FrameView frames_of(const Tensor& lp);
FrameView frames_of(const Tensor& lp, int64_t b, int64_t length);

struct Hypothesis {
  std::vector<int64_t> tokens;
  double log_prob = 0.0;  // acoustic: log p(π*) (greedy) or log p(tokens | x) over the merged paths (beam)
  double prior = 0.0;     // Σ_i log prior(tokens_i | tokens_<i) (0 without a prior)
  double score = 0.0;     // log_prob + alpha · prior + beta · |tokens|
};

// B(π): merge repeats, drop blanks.
std::vector<int64_t> ctc_collapse(std::span<const int64_t> path, int64_t blank);
// Per-frame argmax (lowest index on ties).
std::vector<int64_t> best_path(const FrameView& lp);
Hypothesis greedy_decode(const FrameView& lp, int64_t blank = 0);

// log prior(token | prefix); the prefix holds tokens only (no blanks).
using TokenPrior = std::function<double(std::span<const int64_t> prefix, int64_t token)>;

struct BeamOptions {
  int64_t beam = 8;           // prefixes kept after each frame (≥ 1)
  int64_t blank = 0;
  int64_t nbest = 1;          // hypotheses returned (≤ beam), best first
  TokenPrior prior;           // optional
  double alpha = 0.0;         // prior weight
  double beta = 0.0;          // insertion bonus per token (counters the prior's bias to short outputs)
  double min_log_prob = -1e300;  // tokens with lp_t(c) below this are not tried at frame t (speed)
};
std::vector<Hypothesis> prefix_beam_search(const FrameView& lp, const BeamOptions& opt = {});

// Streaming forms (for transcribing audio as it arrives): feed frames in chunks of any size; after each
// push the decoder's answer is exactly what the one-shot function gives on all frames so far.
class CtcBeamDecoder {  // prefix_beam_search
 public:
  CtcBeamDecoder(int64_t classes, BeamOptions opt);
  ~CtcBeamDecoder();
  CtcBeamDecoder(CtcBeamDecoder&&) noexcept;
  CtcBeamDecoder& operator=(CtcBeamDecoder&&) noexcept;
  void push(const FrameView& frames);     // frames.classes must be `classes`
  std::vector<Hypothesis> best() const;   // opt.nbest hypotheses, best first
  int64_t frames() const;                 // frames pushed so far

 private:
  struct State;
  std::unique_ptr<State> s_;
};

class CtcGreedyDecoder {  // greedy_decode; a token running across a chunk boundary is emitted once
 public:
  explicit CtcGreedyDecoder(int64_t blank = 0) : blank_(blank) {}
  void push(const FrameView& frames);
  const std::vector<int64_t>& tokens() const { return tokens_; }
  const std::vector<int64_t>& path() const { return path_; }  // per-frame argmax so far
  double log_prob() const { return log_prob_; }                // log p(path)

 private:
  int64_t blank_;
  std::vector<int64_t> tokens_, path_;
  double log_prob_ = 0.0;
};

// The most probable frame path π with B(π) = tokens; throws Error("forced_align", …) when no such path
// fits in the frames (fewer frames than tokens plus adjacent repeats). Ties prefer staying in a state,
// then the blank before a token. log_prob (optional) receives log p(π).
std::vector<int64_t> forced_align(const FrameView& lp, std::span<const int64_t> tokens, int64_t blank = 0,
                                  double* log_prob = nullptr);

// One emitted token and the frames [start, end) of its run in a frame path.
struct TokenSpan {
  int64_t token = 0, start = 0, end = 0;
};
std::vector<TokenSpan> token_spans(std::span<const int64_t> path, int64_t blank);

}  // namespace recurrent::tasks
