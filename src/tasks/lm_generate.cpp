// Using a trained language model: scoring a text and generating (sampling, beam search).
// Contract in include/recurrent/tasks/lm.h.
#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_score.h"

namespace recurrent::tasks {

namespace {

using data::TokenLevel;
using data::Vocab;

int64_t start_token(const Vocab& v) {
  if (v.level() == TokenLevel::words) return Vocab::kEos;
  const int64_t nl = v.id("\n");
  return nl != Vocab::kUnk ? nl : v.id(" ");
}

// Feeds ids to one stream (B = 1) and returns log-probabilities [T, V] as doubles.
std::vector<std::vector<double>> log_probs(LmStreams& st, const std::vector<int64_t>& ids, int64_t V) {
  NoGradGuard ng;
  const int64_t T = static_cast<int64_t>(ids.size());
  std::vector<std::vector<double>> out = log_prob_rows(st.feed(ids, T, 1));
  RC_CHECK(out.empty() || static_cast<int64_t>(out[0].size()) == V, "LmStreams", "expected ", V, " logits per step");
  return out;
}

// The distribution to draw from: softmax(logp / temperature) without <unk>, then top-k, then
// top-p (the smallest set of most likely tokens whose mass reaches p), renormalised.
std::vector<double> sampling_dist(const std::vector<double>& logp, const SampleOptions& o) {
  const size_t V = logp.size();
  std::vector<double> q(V, 0.0);
  double mx = -INFINITY;
  for (size_t v = 1; v < V; ++v) mx = std::max(mx, logp[v] / o.temperature);
  double z = 0.0;
  for (size_t v = 1; v < V; ++v) z += q[v] = std::exp(logp[v] / o.temperature - mx);
  for (double& x : q) x /= z;
  if ((o.top_k > 0 && o.top_k < static_cast<int64_t>(V)) || o.top_p < 1.0) {
    std::vector<size_t> idx(V);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return q[a] > q[b]; });
    double mass = 0.0;
    size_t keep = 0;
    while (keep < V && (o.top_k <= 0 || keep < static_cast<size_t>(o.top_k)) && (keep == 0 || mass < o.top_p))
      mass += q[idx[keep++]];
    for (size_t i = keep; i < V; ++i) q[idx[i]] = 0.0;
    for (double& x : q) x /= mass;
  }
  return q;
}

int64_t draw(const std::vector<double>& q, Rng& rng) {
  double u = static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  int64_t last = 0;
  for (size_t v = 0; v < q.size(); ++v) {
    if (q[v] <= 0.0) continue;
    last = static_cast<int64_t>(v);
    if ((u -= q[v]) < 0.0) return last;
  }
  return last;  // rounding left u ≥ 0: the last possible token
}

std::vector<int64_t> prime_ids(const Vocab& v, const std::string& prime, const std::string& where = "--prime") {
  return sample_prime_ids(v, prime, where);
}

// The beams' back-pointers since the last token that every live beam descends from. Step s holds, for
// each beam k alive after it, its token and the beam of step s−1 it extends (beams sorted best first).
// Tokens every live beam descends from are decided: decided() hands them out and forgets their steps, so
// memory is bounded by how long the beams disagree — and by kMaxUndecided steps: past that, prune_to_best()
// decides the best beam's oldest token and names the beams that do not descend from it (to be dropped).
class BeamHistory {
 public:
  static constexpr size_t kMaxUndecided = 10000;

  void push(std::vector<int64_t> from, std::vector<int64_t> token) { steps_.push_back({std::move(from), std::move(token)}); }
  size_t undecided() const { return steps_.size(); }

  // The decided tokens, oldest first (removed from the history).
  std::vector<int64_t> decided() {
    if (steps_.empty()) return {};
    std::vector<int64_t> live(steps_.back().token.size());
    std::iota(live.begin(), live.end(), 0);
    int64_t last_single = -1, single_beam = 0;
    for (int64_t s = static_cast<int64_t>(steps_.size()) - 1; s >= 0; --s) {
      std::sort(live.begin(), live.end());
      live.erase(std::unique(live.begin(), live.end()), live.end());
      if (live.size() == 1 && last_single < 0) last_single = s, single_beam = live[0];
      for (int64_t& k : live) k = steps_[static_cast<size_t>(s)].from[static_cast<size_t>(k)];
    }
    if (last_single < 0) return {};
    std::vector<int64_t> out = path(last_single, single_beam);
    steps_.erase(steps_.begin(), steps_.begin() + last_single + 1);
    return out;
  }
  // Beam k's tokens at steps 0..s (oldest first).
  std::vector<int64_t> path(int64_t s, int64_t k) const {
    std::vector<int64_t> out(static_cast<size_t>(s + 1));
    for (; s >= 0; --s) {
      const Step& st = steps_[static_cast<size_t>(s)];
      out[static_cast<size_t>(s)] = st.token[static_cast<size_t>(k)];
      k = st.from[static_cast<size_t>(k)];
    }
    return out;
  }
  // The live beams that descend from the best beam's (beam 0's) oldest undecided token, in order; the last
  // step keeps only them.
  std::vector<int64_t> prune_to_best() {
    const size_t n = steps_.back().token.size();
    std::vector<int64_t> root(n);  // each live beam's beam at step 0
    std::iota(root.begin(), root.end(), 0);
    for (size_t s = steps_.size(); s-- > 1;)
      for (int64_t& k : root) k = steps_[s].from[static_cast<size_t>(k)];
    std::vector<int64_t> keep;
    for (size_t k = 0; k < n; ++k)
      if (root[k] == root[0]) keep.push_back(static_cast<int64_t>(k));
    Step& last = steps_.back();
    Step kept;
    for (int64_t k : keep) kept.from.push_back(last.from[k]), kept.token.push_back(last.token[k]);
    last = std::move(kept);
    return keep;
  }

 private:
  struct Step {
    std::vector<int64_t> from, token;
  };
  std::deque<Step> steps_;
};

// Beam search, streamed: the prime at once, then each token as soon as every live beam agrees on it, the
// rest of the best beam at the end. Memory O(K · undecided steps), whatever --length.
void beam_search(LmModel& m, const SampleOptions& o, const std::function<void(const std::string&)>& emit) {
  NoGradGuard ng;
  const Vocab& vocab = m.vocab();
  const int64_t V = m.vocab_size();
  std::unique_ptr<LmStreams> st = m.streams();
  std::vector<double> cur = log_probs(*st, prime_ids(vocab, o.prime), V).back();  // [V] for the single initial beam
  std::vector<double> score{0.0};
  BeamHistory hist;
  emit(o.prime);
  auto emit_ids = [&](const std::vector<int64_t>& ids) {
    for (int64_t id : ids) emit(vocab.render(id));
  };
  std::vector<std::pair<double, int64_t>> cand;
  for (int64_t step = 0; step < o.length; ++step) {
    const int64_t B = static_cast<int64_t>(score.size());
    // candidates (beam b, token v) with score[b] + log p(v | beam b); <unk> excluded
    cand.clear();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t v = 1; v < V; ++v) cand.push_back({score[b] + cur[b * V + v], b * V + v});
    const size_t K = std::min<size_t>(static_cast<size_t>(o.beam), cand.size());
    std::partial_sort(cand.begin(), cand.begin() + K, cand.end(), [](auto& a, auto& c) {
      return a.first > c.first || (a.first == c.first && a.second < c.second);
    });
    std::vector<int64_t> from(K), next(K);
    std::vector<double> nscore(K);
    for (size_t k = 0; k < K; ++k) from[k] = cand[k].second / V, next[k] = cand[k].second % V, nscore[k] = cand[k].first;
    st->reorder(from);
    hist.push(from, next);
    if (hist.undecided() > BeamHistory::kMaxUndecided) {  // bound the memory: keep the best beam's descendants
      const std::vector<int64_t> keep = hist.prune_to_best();
      st->reorder(keep);
      std::vector<int64_t> knext;
      std::vector<double> kscore;
      for (int64_t k : keep) knext.push_back(next[k]), kscore.push_back(nscore[k]);
      next = std::move(knext), nscore = std::move(kscore);
    }
    score = std::move(nscore);
    emit_ids(hist.decided());
    if (step + 1 == o.length) break;
    Tensor l = log_softmax(Var(st->feed(next, 1, static_cast<int64_t>(next.size())))).value().contiguous();  // [1, K, V]
    cur.assign(l.data(), l.data() + l.numel());
  }
  if (hist.undecided() > 0) emit_ids(hist.path(static_cast<int64_t>(hist.undecided()) - 1, 0));
}

}  // namespace

ScoreInput score_input(const Vocab& v, const std::string& text_utf8) {
  const std::u32string text = data::utf8_decode(text_utf8, "text");
  ScoreInput in;
  if (v.level() == TokenLevel::words) {
    in.shown = data::split_words(text, v.lower());
    in.shown.push_back("<eos>");
  } else {
    for (char32_t c : text) in.shown.push_back(data::utf8_encode(std::u32string(1, c)));
  }
  in.ids = {start_token(v)};
  for (int64_t id : v.encode_line(text)) in.ids.push_back(id);
  if (v.level() == TokenLevel::words) in.ids.push_back(Vocab::kEos);
  RC_CHECK(in.ids.size() >= 2, "text", "nothing to score (empty text)");
  return in;
}

std::vector<TextScore> score_texts(LmModel& m, const std::vector<ScoreInput>& inputs) {
  NoGradGuard ng;
  const int64_t B = static_cast<int64_t>(inputs.size());
  size_t T = 0;
  for (const ScoreInput& in : inputs) T = std::max(T, in.ids.size() - 1);
  std::vector<int64_t> x(T * B);  // [T, B]: row b's inputs ids[0 .. n_b − 2], then its last input again
  for (size_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) x[t * B + b] = inputs[b].ids[std::min(t, inputs[b].ids.size() - 2)];
  const std::vector<std::vector<double>> lp = log_prob_rows(m.streams()->feed(x, static_cast<int64_t>(T), B));
  RC_CHECK(lp.empty() || static_cast<int64_t>(lp[0].size()) == m.vocab_size(), "LmStreams", "expected ",
           m.vocab_size(), " logits per step");
  std::vector<TextScore> out(inputs.size());
  for (int64_t b = 0; b < B; ++b) {
    const ScoreInput& in = inputs[b];
    for (size_t t = 0; t + 1 < in.ids.size(); ++t) {
      const double l = lp[t * B + b][in.ids[t + 1]];
      out[b].log_prob += l;
      out[b].tokens.push_back({in.shown[t], std::exp(l), in.ids[t + 1] == Vocab::kUnk});
    }
  }
  return out;
}

TextScore score_text(LmModel& m, const std::string& text_utf8) {
  return score_texts(m, {score_input(m.vocab(), text_utf8)})[0];
}

std::vector<double> next_token_probs(LmModel& m, const std::string& context_utf8, const std::string& where) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  std::vector<double> p = log_probs(*m.streams(), prime_ids(m.vocab(), context_utf8, where), m.vocab_size()).back();
  m.train(was_training);
  for (double& x : p) x = std::exp(x);
  return p;
}

std::vector<int64_t> sample_prime_ids(const data::Vocab& v, const std::string& prime, const std::string& where) {
  std::vector<int64_t> ids{start_token(v)};
  std::vector<int64_t> p = v.encode_line(data::utf8_decode(prime, where));
  ids.insert(ids.end(), p.begin(), p.end());
  return ids;
}

std::vector<std::vector<double>> log_prob_rows(const Tensor& logits) {
  NoGradGuard ng;
  // logits [T, B, V] → log_softmax over V → rows [T·B][V] in doubles
  Tensor lp = log_softmax(Var(logits)).value().contiguous();
  const int64_t V = lp.size(lp.dim() - 1), R = lp.numel() / std::max<int64_t>(V, 1);
  std::vector<std::vector<double>> out(static_cast<size_t>(R), std::vector<double>(static_cast<size_t>(V)));
  const float* p = lp.data();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t v = 0; v < V; ++v) out[r][v] = p[r * V + v];
  return out;
}

void check_sample_options(const SampleOptions& o) {
  RC_CHECK(o.length >= 0, "--length", "expected >= 0, got ", o.length);
  RC_CHECK(o.temperature > 0 && std::isfinite(o.temperature), "--temperature", "expected > 0, got ", o.temperature);
  RC_CHECK(o.top_k >= 0, "--top-k", "expected >= 0 (0: all tokens), got ", o.top_k);
  RC_CHECK(o.top_p > 0 && o.top_p <= 1, "--top-p", "expected a value in (0, 1], got ", o.top_p);
  RC_CHECK(o.beam >= 0, "--beam", "expected >= 0, got ", o.beam);
}

TokenSampler::TokenSampler(const SampleOptions& o) : o_(o), rng_(o.seed, 0x73616d70) { check_sample_options(o); }

int64_t TokenSampler::next(const std::vector<double>& logp) { return draw(sampling_dist(logp, o_), rng_); }

void sample_lm(LmModel& m, const SampleOptions& o, const std::function<void(const std::string&)>& emit) {
  check_sample_options(o);
  m.eval();
  if (o.beam > 0) return beam_search(m, o, emit);
  NoGradGuard ng;
  const Vocab& vocab = m.vocab();
  TokenSampler sampler(o);
  std::unique_ptr<LmStreams> st = m.streams();
  std::vector<std::vector<double>> lp = log_probs(*st, prime_ids(vocab, o.prime), m.vocab_size());
  std::vector<double> cur = lp.back();
  emit(o.prime);
  for (int64_t i = 0; i < o.length; ++i) {
    const int64_t id = sampler.next(cur);
    emit(vocab.render(id));
    if (i + 1 < o.length) cur = log_probs(*st, {id}, m.vocab_size())[0];
  }
}

}  // namespace recurrent::tasks
