// Corpus BLEU and the 13a tokenizer (contract and equations in tasks/bleu.h).
#include "recurrent/tasks/bleu.h"

#include <cmath>
#include <map>

#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"

namespace recurrent::tasks {

namespace {

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// Rule 1's class: {|}~  [\]^_`  space!"#$%&  ()*+  :;<=>?@  /
bool rule1(char32_t c) {
  return (c >= U'{' && c <= U'~') || (c >= U'[' && c <= U'`') || (c >= U' ' && c <= U'&') ||
         (c >= U'(' && c <= U'+') || (c >= U':' && c <= U'@') || c == U'/';
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// A two-character rule "(A)(B)" → repl, applied like Python's re.sub: scan left to right; after
// a match, continue after it (matches do not overlap).
template <typename Match, typename Emit>
std::u32string two_char_rule(const std::u32string& s, Match match, Emit emit) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

std::vector<std::string> split_space(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a < s.size()) {
    size_t b = s.find(' ', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

using Counts = std::map<std::vector<std::string>, int64_t>;
Counts ngrams(const std::vector<std::string>& t, size_t n) {
  Counts c;
  for (size_t i = 0; i + n <= t.size(); ++i) ++c[std::vector<std::string>(t.begin() + i, t.begin() + i + n)];
  return c;
}

}  // namespace

std::string tokenize_13a(const std::string& line_in) {
  std::string line = line_in;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  std::u32string s = data::utf8_decode(line, "BLEU tokenizer");
  std::u32string r1;
  for (char32_t c : s) {
    if (rule1(c)) r1 += U' ', r1 += c, r1 += U' ';
    else r1 += c;
  }
  auto punct = [](char32_t c) { return c == U'.' || c == U','; };
  s = two_char_rule(r1, [&](char32_t a, char32_t b) { return !is_digit(a) && punct(b); },
                    [](std::u32string& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
  s = two_char_rule(s, [&](char32_t a, char32_t b) { return punct(a) && !is_digit(b); },
                    [](std::u32string& o, char32_t a, char32_t b) { o += U' ', o += a, o += U' ', o += b; });
  s = two_char_rule(s, [](char32_t a, char32_t b) { return is_digit(a) && b == U'-'; },
                    [](std::u32string& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
  // Python's str.split(): any whitespace run separates.
  std::string out, cur;
  auto flush = [&] {
    if (cur.empty()) return;
    if (!out.empty()) out += ' ';
    out += cur;
    cur.clear();
  };
  for (char32_t c : s) {
    if (c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\v' || c == U'\f' || c == 0x1c || c == 0x1d ||
        c == 0x1e || c == 0x1f || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
        c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000)
      flush();
    else
      data::utf8_append(cur, c);
  }
  flush();
  return out;
}

void BleuStats::add(const std::vector<std::string>& hyp, const std::vector<std::string>& ref) {
  hyp_len += static_cast<int64_t>(hyp.size());
  ref_len += static_cast<int64_t>(ref.size());
  for (size_t n = 1; n <= 4; ++n) {
    const Counts h = ngrams(hyp, n), r = ngrams(ref, n);
    for (const auto& [g, c] : h) {
      auto it = r.find(g);
      if (it != r.end()) correct[n - 1] += std::min(c, it->second);
    }
    total[n - 1] += hyp.size() >= n ? static_cast<int64_t>(hyp.size() - n + 1) : 0;
  }
}

double BleuStats::precision(int n) const {
  RC_CHECK(n >= 1 && n <= 4, "BLEU", "n-gram order must be 1..4, got ", n);
  double smooth = 1.0;  // sacrebleu "exp": the k-th order with no match gets 1 / (2^k · total)
  double p = 0.0;
  for (int k = 0; k < n; ++k) {
    if (total[k] == 0) return 0.0;
    if (correct[k] == 0) {
      smooth *= 2.0;
      p = 100.0 / (smooth * static_cast<double>(total[k]));
    } else {
      p = 100.0 * static_cast<double>(correct[k]) / static_cast<double>(total[k]);
    }
  }
  return p;
}

double BleuStats::brevity_penalty() const {
  if (hyp_len >= ref_len) return 1.0;
  return hyp_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(hyp_len)) : 0.0;
}

double BleuStats::score() const {
  if (correct[0] + correct[1] + correct[2] + correct[3] == 0) return 0.0;
  double s = 0.0;
  for (int n = 1; n <= 4; ++n) {
    const double p = precision(n);
    s += p > 0.0 ? std::log(p) : -9999999999.0;
  }
  // precision() is in percent: exp(mean log) is too, so BLEU = BP · exp(Σ log p_n / 4).
  return brevity_penalty() * std::exp(s / 4.0);
}

BleuStats corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs, bool lowercase) {
  RC_CHECK(hyps.size() == refs.size(), "BLEU", hyps.size(), " hypotheses but ", refs.size(), " references");
  auto lower = [&](const std::string& s) {
    if (!lowercase) return s;
    std::u32string u = data::utf8_decode(s, "BLEU");
    for (char32_t& c : u) c = data::lower_latin(c);
    return data::utf8_encode(u);
  };
  BleuStats st;
  for (size_t i = 0; i < hyps.size(); ++i)
    st.add(split_space(tokenize_13a(lower(hyps[i]))), split_space(tokenize_13a(lower(refs[i]))));
  return st;
}

}  // namespace recurrent::tasks
