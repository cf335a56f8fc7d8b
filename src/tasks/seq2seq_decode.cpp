// Decoding (greedy, beam search) and evaluation (loss, BLEU, exact match) of encoder-decoder
// models, through the Seq2SeqModel interface only (tasks/seq2seq.h), so any architecture works.
//
// Both decoders never emit <unk> or <bos> (their log-probabilities are skipped), so a translation
// is made of real target words; every hypothesis stops at <eos> or after max_len tokens
// (default 2·|source| + 10).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/bleu.h"
#include "recurrent/tasks/seq2seq.h"

namespace recurrent::tasks {

namespace {

int64_t max_len_for(const DecodeOptions& o, size_t src_len) {
  return o.max_len > 0 ? o.max_len : 2 * static_cast<int64_t>(src_len) + 10;
}

std::vector<float> attention_row(const DecoderState& s, int64_t b) {
  if (!s.last_attention.defined()) return {};
  const int64_t S = s.last_attention.size(1);
  const float* p = s.last_attention.data() + b * S;
  return std::vector<float>(p, p + s.src_len[b]);  // the source's own steps only
}

// B sources at once; row b stops at its <eos> (or its max length).
std::vector<Translation> greedy(Seq2SeqModel& m, const std::vector<const std::vector<int64_t>*>& src,
                                const DecodeOptions& o) {
  const int64_t B = static_cast<int64_t>(src.size()), V = m.config().tgt.size();
  std::unique_ptr<DecoderState> st = m.start(src);
  std::vector<Translation> out(src.size());
  std::vector<int64_t> prev(src.size(), kBos), limit(src.size());
  std::vector<bool> done(src.size(), false);
  int64_t longest = 0;
  for (int64_t b = 0; b < B; ++b) longest = std::max(longest, limit[b] = max_len_for(o, src[b]->size()));
  for (int64_t t = 0; t < longest; ++t) {
    const Tensor lp = m.step(*st, prev);  // [B, V]
    bool all = true;
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      const float* row = lp.data() + b * V;
      int64_t best = kEos;
      for (int64_t v = kEos + 1; v < V; ++v)
        if (row[v] > row[best]) best = v;
      out[b].log_prob += row[best];
      if (o.keep_attention) out[b].attention.push_back(attention_row(*st, b));
      if (best == kEos || t + 1 >= limit[b]) done[b] = true;
      out[b].ended = best == kEos;
      if (best != kEos) out[b].ids.push_back(best);
      prev[b] = best;
      all = all && done[b];
    }
    if (all) break;
  }
  return out;
}

struct Hyp {
  std::vector<int64_t> ids;
  double score = 0.0;
  std::vector<std::vector<float>> attention;
  bool ended = false;
};

double normalised(const Hyp& h, size_t len, double alpha) {
  return h.score / std::pow(static_cast<double>(std::max<size_t>(len, 1)), alpha);
}

// One source, K hypotheses decoded as a batch. A candidate ending in <eos> is finished (ranked by
// log p / length^α, length incl. <eos>); search stops when K are finished or no live one is left.
}  // namespace

Translation beam_search(Seq2SeqModel& m, const std::vector<int64_t>& src, const DecodeOptions& o) {
  RC_CHECK(o.beam >= 1, "--beam", "expected >= 1, got ", o.beam);
  NoGradGuard ng;
  const int64_t V = m.config().tgt.size(), K = o.beam, limit = max_len_for(o, src.size());
  std::unique_ptr<DecoderState> st = m.start({&src});
  std::vector<Hyp> live{Hyp{}}, finished;
  std::vector<double> fin_norm;
  std::vector<int64_t> prev{kBos};
  for (int64_t t = 0; t < limit && !live.empty() && static_cast<int64_t>(finished.size()) < K; ++t) {
    const Tensor lp = m.step(*st, prev);  // [live, V]
    std::vector<std::pair<double, int64_t>> cand;  // (score, b·V + v)
    for (size_t b = 0; b < live.size(); ++b)
      for (int64_t v = kEos; v < V; ++v)
        cand.push_back({live[b].score + lp.data()[b * V + v], static_cast<int64_t>(b) * V + v});
    const size_t n = std::min<size_t>(static_cast<size_t>(K), cand.size());
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(n), cand.end(),
                      [](const auto& a, const auto& c) { return a.first > c.first || (a.first == c.first && a.second < c.second); });
    std::vector<Hyp> next;
    std::vector<int64_t> from;
    prev.clear();
    for (size_t k = 0; k < n; ++k) {
      const int64_t b = cand[k].second / V, v = cand[k].second % V;
      Hyp h{live[b].ids, cand[k].first, o.keep_attention ? live[b].attention : std::vector<std::vector<float>>{}};
      if (o.keep_attention) h.attention.push_back(attention_row(*st, b));
      if (v == kEos || t + 1 == limit) {
        if (v != kEos) h.ids.push_back(v);
        h.ended = v == kEos;
        fin_norm.push_back(normalised(h, h.ids.size() + 1, o.length_penalty));
        finished.push_back(std::move(h));
        continue;
      }
      h.ids.push_back(v);
      next.push_back(std::move(h));
      from.push_back(b);
      prev.push_back(v);
    }
    live = std::move(next);
    if (!live.empty()) m.reorder(*st, from);
  }
  for (Hyp& h : live) {  // never reached here with K finished; live ones count only when nothing finished
    if (!finished.empty()) break;
    fin_norm.push_back(normalised(h, h.ids.size(), o.length_penalty));
    finished.push_back(std::move(h));
  }
  const size_t best = static_cast<size_t>(std::max_element(fin_norm.begin(), fin_norm.end()) - fin_norm.begin());
  return {finished[best].ids, finished[best].score, finished[best].ended, std::move(finished[best].attention)};
}

std::vector<Translation> translate(Seq2SeqModel& m, const std::vector<std::vector<int64_t>>& sources,
                                   const DecodeOptions& o, int64_t batch) {
  RC_CHECK(o.beam >= 1, "--beam", "expected >= 1 (1: greedy), got ", o.beam);
  RC_CHECK(o.max_len >= 0, "--max-len", "expected >= 0 (0: 2·|source| + 10), got ", o.max_len);
  RC_CHECK(batch >= 1, "--batch", "expected >= 1, got ", batch);
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  std::vector<Translation> out(sources.size());
  if (o.beam > 1) {
    for (size_t i = 0; i < sources.size(); ++i) out[i] = beam_search(m, sources[i], o);
  } else {
    // Batches of similar length (sorted by source length), results put back in input order.
    std::vector<size_t> order(sources.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sources[a].size() < sources[b].size(); });
    for (size_t a = 0; a < order.size(); a += static_cast<size_t>(batch)) {
      std::vector<const std::vector<int64_t>*> bs;
      for (size_t i = a; i < std::min(order.size(), a + static_cast<size_t>(batch)); ++i) bs.push_back(&sources[order[i]]);
      std::vector<Translation> r = greedy(m, bs, o);
      for (size_t i = 0; i < r.size(); ++i) out[order[a + i]] = std::move(r[i]);
    }
  }
  m.train(was_training);
  return out;
}

double copy_source_bleu(const data::ParallelSet& set) {
  std::vector<std::string> hyps, refs;
  auto joined = [](const std::vector<std::string>& t) {
    std::string s;
    for (const std::string& x : t) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  for (const data::TextPair& p : set.pairs) {
    const std::string w = set.source + ":" + std::to_string(p.line);
    hyps.push_back(joined(seq2seq_tokens(p.source, w)));
    refs.push_back(joined(seq2seq_tokens(p.target, w)));
  }
  return corpus_bleu(hyps, refs).score();
}

Seq2SeqEval evaluate_seq2seq(Seq2SeqModel& m, const data::ParallelSet& set, const DecodeOptions& o, bool with_loss,
                             int64_t batch) {
  RC_CHECK(!set.pairs.empty(), set.source, "no sentence pairs to evaluate");
  std::vector<std::vector<int64_t>> src, tgt;
  std::vector<std::string> refs;
  for (const data::TextPair& p : set.pairs) {
    const std::string w = set.source + ":" + std::to_string(p.line);
    src.push_back(m.encode_source(p.source, w));
    tgt.push_back(m.encode_target(p.target, w));
    std::string r;
    for (const std::string& t : seq2seq_tokens(p.target, w)) r += (r.empty() ? "" : " ") + t;
    refs.push_back(r);
  }
  Seq2SeqEval e;
  e.n = static_cast<int64_t>(set.pairs.size());
  if (with_loss) {
    NoGradGuard ng;
    const bool was_training = m.is_training();
    m.eval();
    double sum = 0.0;
    int64_t tokens = 0;
    for (size_t a = 0; a < src.size(); a += static_cast<size_t>(batch)) {
      Seq2SeqBatch b;
      std::vector<int64_t> targets;
      for (size_t i = a; i < std::min(src.size(), a + static_cast<size_t>(batch)); ++i) b.src.push_back(&src[i]), b.tgt.push_back(&tgt[i]);
      Var logits = m.forward(b);  // [B, T, V]
      const int64_t T = logits.size(1);
      for (const auto* t : b.tgt)
        for (int64_t s = 0; s < T; ++s) {
          const int64_t n = static_cast<int64_t>(t->size());
          targets.push_back(s < n ? (*t)[s] : s == n ? kEos : -100);
          tokens += s <= n;
        }
      CrossEntropyOptions co;
      co.reduction = Reduction::sum;
      sum += cross_entropy(logits, targets, co).value().item();
    }
    m.train(was_training);
    e.loss = sum / static_cast<double>(std::max<int64_t>(tokens, 1));
  }
  const std::vector<Translation> tr = translate(m, src, o, batch);
  int64_t exact = 0;
  for (size_t i = 0; i < tr.size(); ++i) {
    e.hypotheses.push_back(m.render(tr[i].ids));
    exact += e.hypotheses.back() == refs[i];
  }
  const BleuStats b = corpus_bleu(e.hypotheses, refs);
  e.bleu = b.score();
  for (int n = 1; n <= 4; ++n) e.precisions.push_back(b.precision(n));
  e.brevity_penalty = b.brevity_penalty();
  e.exact_match = static_cast<double>(exact) / static_cast<double>(e.n);
  e.copy_bleu = copy_source_bleu(set);
  return e;
}

}  // namespace recurrent::tasks
