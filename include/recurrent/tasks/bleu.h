// recurrent/tasks/bleu.h — corpus BLEU as sacrebleu (Post 2018) computes it by default, and its
// "13a" tokenizer (mteval-v13a.pl's), our own code (tests/tasks/test_bleu.cpp checks hand-computed
// values and values from scripts/seq2seq/bleu_ref.py, an independent Python transcription).
//
// BLEU (Papineni et al. 2002), one reference per hypothesis, corpus level:
//   correct_n = Σ_sentences Σ_{n-grams g of hyp} min(count_hyp(g), count_ref(g))   (clipped counts)
//   total_n   = Σ_sentences max(0, |hyp| − n + 1),   n = 1..4
//   p_n = correct_n / total_n; when correct_n = 0, sacrebleu's "exp" smoothing (its default; from
//         mteval-v13a): p_n = 1 / (2^k · total_n) for the k-th such order
//   BP  = 1 if c ≥ r else exp(1 − r/c)   (c = Σ|hyp|, r = Σ|ref|; 0 if c = 0)
//   BLEU = 100 · BP · exp((1/4) Σ_n log p_n)
// Edge cases as in sacrebleu 2.x: no matching n-gram of any order → 0; total_n = 0 (every
// hypothesis shorter than n) leaves p_n = 0, whose log counts as −9999999999 → 0.
//
// tokenize_13a (sacrebleu's Tokenizer13a): drop "<skipped>", join "-\n" line breaks, unescape
// &quot; &amp; &lt; &gt;, then in order, each applied left to right over code points:
//   1. put spaces around each of  {|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ /
//   2. "X." / "X," with X not a digit → "X . " / "X , "
//   3. ".X" / ",X" with X not a digit → " . X" / " , X"
//   4. "9-" (a digit before '-') → "9 - "
//   5. collapse whitespace runs to one space, strip.
// `lowercase` (sacrebleu -lc) lower-cases ASCII and Latin-1 letters before tokenising.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::tasks {

std::string tokenize_13a(const std::string& line_utf8);

struct BleuStats {
  std::array<int64_t, 4> correct{}, total{};
  int64_t hyp_len = 0, ref_len = 0;
  void add(const std::vector<std::string>& hyp_tokens, const std::vector<std::string>& ref_tokens);
  double score() const;             // 0 … 100
  double precision(int n) const;    // p_n in percent (after smoothing), n = 1..4
  double brevity_penalty() const;
};

// Corpus BLEU of hypotheses against one reference each (equal counts), both tokenised by 13a.
BleuStats corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      bool lowercase = false);

}  // namespace recurrent::tasks
