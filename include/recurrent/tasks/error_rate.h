// recurrent/tasks/error_rate.h — edit distance and the error rates of speech recognition.
//
// Levenshtein distance between a reference r and a hypothesis h (unit costs), by the O(|r|·|h|) dynamic
// programme, with the edits split into substitutions S, deletions D (reference tokens missing from the
// hypothesis) and insertions I. Among the alignments of minimal S + D + I the split is the one that
// prefers, walking back from the end, a match/substitution, then a deletion, then an insertion (the split
// can differ between tools; the total cannot).
//   WER = (S + D + I) / N over words (whitespace-separated), CER the same over Unicode code points
//   (UTF-8 decoded; spaces count as characters, as in jiwer's cer). Corpus rates sum the edits and the
//   reference lengths over all utterances first (not a mean of per-utterance rates). N = 0: the rate is
//   0 for an empty hypothesis, else the number of insertions (rate() never divides by 0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recurrent::tasks {

struct EditCounts {
  int64_t substitutions = 0, deletions = 0, insertions = 0;
  int64_t reference = 0;  // N, the reference length
  int64_t edits() const { return substitutions + deletions + insertions; }
  double rate() const;    // edits / N (see above for N = 0)
  EditCounts& operator+=(const EditCounts& o);
};

EditCounts edit_distance(const std::vector<int64_t>& reference, const std::vector<int64_t>& hypothesis);
EditCounts edit_distance(const std::vector<std::string>& reference, const std::vector<std::string>& hypothesis);

std::vector<std::string> split_words(std::string_view text);  // on ASCII whitespace runs
EditCounts word_errors(std::string_view reference, std::string_view hypothesis);
EditCounts char_errors(std::string_view reference, std::string_view hypothesis);  // UTF-8 text

// Corpus rates over parallel lists (same length, else Error("wer"/"cer", ...)).
double wer(const std::vector<std::string>& references, const std::vector<std::string>& hypotheses);
double cer(const std::vector<std::string>& references, const std::vector<std::string>& hypotheses);

}  // namespace recurrent::tasks
