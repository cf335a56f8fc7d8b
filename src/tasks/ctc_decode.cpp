// CTC decoding: best path, prefix beam search (Hannun et al. 2014), forced alignment and token spans.
// Contract in include/recurrent/tasks/ctc_decode.h.
#include "recurrent/tasks/ctc_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

#include "recurrent/core/error.h"

namespace recurrent::tasks {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

inline double lse(double a, double b) {
  const double m = std::max(a, b);
  if (m == kNegInf) return kNegInf;
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

void check_view(const FrameView& lp, int64_t blank, const char* where) {
  RC_CHECK(lp.data || lp.frames == 0, where, "frame view has no data");
  RC_CHECK(lp.classes >= 1 && lp.stride >= lp.classes, where, "expected frames of C >= 1 classes, got C = ",
           lp.classes, " with stride ", lp.stride);
  RC_CHECK(blank >= 0 && blank < lp.classes, where, "blank index ", blank, " is out of range for ", lp.classes,
           " classes");
}

}  // namespace

FrameView frames_of(const Tensor& lp) {
  RC_CHECK(lp.dim() == 2 && lp.is_contiguous(), "frames_of", "expected contiguous log-probabilities [T, C], got ",
           shape_str(lp.shape()));
  return {lp.data(), lp.size(0), lp.size(1), lp.size(1)};
}

FrameView frames_of(const Tensor& lp, int64_t b, int64_t length) {
  RC_CHECK(lp.dim() == 3 && lp.is_contiguous(), "frames_of", "expected contiguous log-probabilities [T, B, C], got ",
           shape_str(lp.shape()));
  RC_CHECK(b >= 0 && b < lp.size(1), "frames_of", "batch index ", b, " is outside [0, ", lp.size(1), ")");
  RC_CHECK(length >= 0 && length <= lp.size(0), "frames_of", "length ", length, " is outside [0, T = ", lp.size(0),
           "]");
  return {lp.data() + b * lp.size(2), length, lp.size(2), lp.size(1) * lp.size(2)};
}

// ---- best path ---------------------------------------------------------------------------------------

std::vector<int64_t> ctc_collapse(std::span<const int64_t> path, int64_t blank) {
  std::vector<int64_t> out;
  for (size_t t = 0; t < path.size(); ++t)
    if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) out.push_back(path[t]);
  return out;
}

std::vector<int64_t> best_path(const FrameView& lp) {
  std::vector<int64_t> path(static_cast<size_t>(lp.frames));
  for (int64_t t = 0; t < lp.frames; ++t) {
    int64_t best = 0;
    for (int64_t c = 1; c < lp.classes; ++c)
      if (lp.at(t, c) > lp.at(t, best)) best = c;
    path[t] = best;
  }
  return path;
}

Hypothesis greedy_decode(const FrameView& lp, int64_t blank) {
  check_view(lp, blank, "greedy_decode");
  const std::vector<int64_t> path = best_path(lp);
  Hypothesis h;
  for (int64_t t = 0; t < lp.frames; ++t) h.log_prob += lp.at(t, path[t]);
  h.tokens = ctc_collapse(path, blank);
  h.score = h.log_prob;
  return h;
}

// ---- prefix beam search --------------------------------------------------------------------------------

namespace {

// Prefixes as a tree: node 0 is the empty prefix; a child is its parent plus one token.
struct PrefixTree {
  struct Node {
    int64_t parent, token, length;
    double prior;  // Σ log prior over the prefix's tokens
  };
  std::vector<Node> nodes{{-1, -1, 0, 0.0}};
  std::unordered_map<int64_t, int64_t> children;  // parent · C + token → child
  int64_t C;

  explicit PrefixTree(int64_t classes) : C(classes) {}

  std::vector<int64_t> tokens(int64_t n) const {
    std::vector<int64_t> out(static_cast<size_t>(nodes[n].length));
    for (int64_t k = n; k > 0; k = nodes[k].parent) out[nodes[k].length - 1] = nodes[k].token;
    return out;
  }
  int64_t child(int64_t n, int64_t token, const TokenPrior& prior) {
    auto [it, fresh] = children.try_emplace(n * C + token, static_cast<int64_t>(nodes.size()));
    if (fresh) {
      const double p = prior ? prior(tokens(n), token) : 0.0;
      nodes.push_back({n, token, nodes[n].length + 1, nodes[n].prior + p});
    }
    return it->second;
  }
};

struct Beam {
  int64_t node;
  double pb, pnb;  // log p of the paths so far collapsing to the prefix, ending in blank / in its last token
};

}  // namespace

struct CtcBeamDecoder::State {
  BeamOptions opt;
  PrefixTree tree;
  std::vector<Beam> beams{{0, 0.0, kNegInf}}, next;
  std::unordered_map<int64_t, size_t> slot;  // node → index in next
  int64_t frames = 0;

  State(int64_t classes, BeamOptions o) : opt(std::move(o)), tree(classes) {}
  double score(const Beam& b) const {
    const auto& n = tree.nodes[b.node];
    return lse(b.pb, b.pnb) + opt.alpha * n.prior + opt.beta * static_cast<double>(n.length);
  }
  Beam& at(int64_t node) {
    auto [it, fresh] = slot.try_emplace(node, next.size());
    if (fresh) next.push_back({node, kNegInf, kNegInf});
    return next[it->second];
  }
  void step(const FrameView& lp, int64_t t);
};

// Frame t, for each kept prefix ℓ (p = p_b + p_nb) and token c ≠ blank:
//   ℓ      gets  p_b' += p · lp_t(blank);   p_nb' += p_nb · lp_t(last(ℓ))          (stay)
//   ℓ + c  gets  p_nb' += p · lp_t(c)   if c ≠ last(ℓ),   p_b · lp_t(c) if c = last(ℓ) (a repeat needs a blank)
// then the `beam` prefixes with the best score are kept (ties: the prefix created first).
void CtcBeamDecoder::State::step(const FrameView& lp, int64_t t) {
  next.clear();
  slot.clear();
  const double lpb = lp.at(t, opt.blank);
  for (const Beam& b : beams) {
    const double p = lse(b.pb, b.pnb);
    const int64_t last = tree.nodes[b.node].token;
    Beam& self = at(b.node);
    self.pb = lse(self.pb, p + lpb);
    for (int64_t c = 0; c < lp.classes; ++c) {
      const double lc = lp.at(t, c);
      if (c == opt.blank || lc < opt.min_log_prob) continue;
      Beam& ext = at(tree.child(b.node, c, opt.prior));
      Beam& stay = next[slot.at(b.node)];  // `at` may have grown `next`: look ℓ up again
      if (c == last) {
        ext.pnb = lse(ext.pnb, b.pb + lc);
        stay.pnb = lse(stay.pnb, b.pnb + lc);
      } else {
        ext.pnb = lse(ext.pnb, p + lc);
      }
    }
  }
  std::vector<double> s(next.size());
  std::vector<size_t> order(next.size());
  for (size_t i = 0; i < next.size(); ++i) s[i] = score(next[i]), order[i] = i;
  const size_t keep = std::min(order.size(), static_cast<size_t>(opt.beam));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](size_t a, size_t b) { return s[a] > s[b] || (s[a] == s[b] && next[a].node < next[b].node); });
  beams.clear();
  for (size_t i = 0; i < keep; ++i) beams.push_back(next[order[i]]);
}

CtcBeamDecoder::CtcBeamDecoder(int64_t classes, BeamOptions opt) {
  RC_CHECK(classes >= 1, "prefix_beam_search", "expected C >= 1 classes, got ", classes);
  RC_CHECK(opt.blank >= 0 && opt.blank < classes, "prefix_beam_search", "blank index ", opt.blank,
           " is out of range for ", classes, " classes");
  RC_CHECK(opt.beam >= 1, "prefix_beam_search", "beam width must be >= 1, got ", opt.beam);
  RC_CHECK(opt.nbest >= 1 && opt.nbest <= opt.beam, "prefix_beam_search", "nbest must be in [1, beam = ", opt.beam,
           "], got ", opt.nbest);
  s_ = std::make_unique<State>(classes, std::move(opt));
}
CtcBeamDecoder::~CtcBeamDecoder() = default;
CtcBeamDecoder::CtcBeamDecoder(CtcBeamDecoder&&) noexcept = default;
CtcBeamDecoder& CtcBeamDecoder::operator=(CtcBeamDecoder&&) noexcept = default;

void CtcBeamDecoder::push(const FrameView& lp) {
  check_view(lp, s_->opt.blank, "prefix_beam_search");
  RC_CHECK(lp.classes == s_->tree.C, "prefix_beam_search", "frames of ", lp.classes, " classes pushed into a decoder of ",
           s_->tree.C);
  for (int64_t t = 0; t < lp.frames; ++t) s_->step(lp, t);
  s_->frames += lp.frames;
}

int64_t CtcBeamDecoder::frames() const { return s_->frames; }

std::vector<Hypothesis> CtcBeamDecoder::best() const {
  std::vector<Beam> sorted = s_->beams;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Beam& a, const Beam& b) { return s_->score(a) > s_->score(b); });
  std::vector<Hypothesis> out;
  for (size_t i = 0; i < sorted.size() && static_cast<int64_t>(i) < s_->opt.nbest; ++i) {
    const auto& n = s_->tree.nodes[sorted[i].node];
    out.push_back({s_->tree.tokens(sorted[i].node), lse(sorted[i].pb, sorted[i].pnb), n.prior, s_->score(sorted[i])});
  }
  return out;
}

std::vector<Hypothesis> prefix_beam_search(const FrameView& lp, const BeamOptions& opt) {
  check_view(lp, opt.blank, "prefix_beam_search");
  CtcBeamDecoder d(lp.classes, opt);
  d.push(lp);
  return d.best();
}

void CtcGreedyDecoder::push(const FrameView& lp) {
  check_view(lp, blank_, "greedy_decode");
  for (int64_t t = 0; t < lp.frames; ++t) {
    int64_t best = 0;
    for (int64_t c = 1; c < lp.classes; ++c)
      if (lp.at(t, c) > lp.at(t, best)) best = c;
    if (best != blank_ && (path_.empty() || path_.back() != best)) tokens_.push_back(best);
    path_.push_back(best);
    log_prob_ += lp.at(t, best);
  }
}

// ---- forced alignment ------------------------------------------------------------------------------------

// Viterbi over the extended label l' (S = 2L + 1 states, blanks at even s):
//   δ_t(s) = lp_t(l'_s) + max(δ_{t−1}(s), δ_{t−1}(s−1), [l'_s ≠ blank ∧ l'_s ≠ l'_{s−2}] δ_{t−1}(s−2)),
// ending in s = S−1 or S−2; the argmax pointers give the path back.
std::vector<int64_t> forced_align(const FrameView& lp, std::span<const int64_t> tokens, int64_t blank,
                                  double* log_prob) {
  check_view(lp, blank, "forced_align");
  const int64_t L = static_cast<int64_t>(tokens.size()), S = 2 * L + 1, T = lp.frames;
  for (int64_t k = 0; k < L; ++k)
    RC_CHECK(tokens[k] >= 0 && tokens[k] < lp.classes && tokens[k] != blank, "forced_align", "token ", tokens[k],
             " at position ", k, " is not a class in [0, ", lp.classes, ") other than the blank ", blank);
  int64_t repeats = 0;
  for (int64_t k = 1; k < L; ++k) repeats += tokens[k] == tokens[k - 1];
  RC_CHECK(T >= L + repeats, "forced_align", L, " tokens (", repeats, " adjacent repeats) do not fit in ", T,
           " frames: CTC needs at least ", L + repeats);
  if (T == 0) return {};
  auto lab = [&](int64_t s) { return (s & 1) ? tokens[s >> 1] : blank; };
  std::vector<double> d(static_cast<size_t>(S), kNegInf), prev;
  std::vector<int8_t> back(static_cast<size_t>(T * S), 0);  // 0 stay, 1 from s−1, 2 from s−2
  d[0] = lp.at(0, blank);
  if (S > 1) d[1] = lp.at(0, lab(1));
  for (int64_t t = 1; t < T; ++t) {
    prev = d;
    for (int64_t s = 0; s < S; ++s) {
      double best = prev[s];
      int8_t from = 0;
      if (s >= 1 && prev[s - 1] > best) best = prev[s - 1], from = 1;
      if ((s & 1) && s >= 2 && tokens[s >> 1] != tokens[(s >> 1) - 1] && prev[s - 2] > best) best = prev[s - 2], from = 2;
      d[s] = best == kNegInf ? kNegInf : best + lp.at(t, lab(s));
      back[t * S + s] = from;
    }
  }
  int64_t s = (S > 1 && d[S - 2] > d[S - 1]) ? S - 2 : S - 1;
  if (log_prob) *log_prob = d[s];
  std::vector<int64_t> path(static_cast<size_t>(T));
  for (int64_t t = T - 1; t >= 0; --t) {
    path[t] = lab(s);
    s -= back[t * S + s];
  }
  return path;
}

std::vector<TokenSpan> token_spans(std::span<const int64_t> path, int64_t blank) {
  std::vector<TokenSpan> out;
  const int64_t T = static_cast<int64_t>(path.size());
  for (int64_t t = 0; t < T; ++t) {
    if (path[t] == blank) continue;
    if (t > 0 && path[t] == path[t - 1]) {
      out.back().end = t + 1;
      continue;
    }
    out.push_back({path[t], t, t + 1});
  }
  return out;
}

}  // namespace recurrent::tasks
