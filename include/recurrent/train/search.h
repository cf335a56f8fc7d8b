// recurrent/train/search.h — `--search N`: a small search over candidate settings within the run's one budget,
// by successive halving (Jamieson & Talwalkar 2016; Li et al. 2018, "Hyperband", its inner loop) on the
// validation part. The test part is never looked at: trials run as `RunOptions::trial` (validation only), and
// the kept run is evaluated on test once, after the choice.
//
//   N candidates (the task's evidence table, best first) → trials k = 0 … N−1 in DIR/trials/<k>-<name>/
//   rungs r = 0 … R−1 (R = ⌈log₂ N⌉ + 1), n_r = ⌈N / 2^r⌉ trials in rung r:
//     every trial of the rung that has not finished (early stopping) is trained on — resumed from its
//       last.safetensors — up to its allowance for the rung, then scored on validation;
//     the best ⌈n_r / 2⌉ by validation (ties: the earlier candidate) go on to rung r+1.
//   Allowances, cumulative per trial (a run's budgets count its resumed parts):
//     --time-budget T: rung r's share of what is left of T (wall clock, loading included) is
//       left / (R − r), split evenly among the rung's unfinished trials; the last rung's one trial gets
//       all that is left.  (With --epochs E as well, E caps every trial.)
//     --epochs E alone: trial epochs E · 2^(r−R+1) (at least 1) in rung r, so the kept one has E.
//   The winner's files (best/last.safetensors, metrics.csv) are copied to DIR, its command record becomes
//   that of a plain run with its candidate's options (so `--resume DIR` continues it), and the task
//   evaluates it there once (RunOptions::evaluate_only): DIR/results.json, with "search" added.
//   Every trial's rung is a line on stderr and a row of DIR/trials.csv (and DIR/trials.json).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/train/run.h"

namespace recurrent::train {

struct SearchCandidate {
  std::string name;                                        // "lstm128"
  std::vector<std::pair<std::string, std::string>> flags;  // CLI options it sets: {"--hidden","128"}, {"--no-bidirectional",""}
};

// What a trial reports after each of its rungs (read from the trial's results.json by the task).
struct TrialReport {
  double score = 0.0;        // validation figure, higher is better (e.g. −MAE, macro-F1)
  std::string summary;       // for the log line: "valid MAE 12.3"
  bool finished = false;     // stopped by itself (early stopping / --epochs): no more training helps it
  int64_t epochs = 0;        // epochs completed so far
  double train_seconds = 0;  // training time so far (the run's own count)
};

// Runs (or continues, resume = true) trial `k` in `dir` with the budgets in `budget` (time_budget, epochs:
// cumulative); `budget.trial` is set. Returns its validation report.
using TrialFn = std::function<TrialReport(size_t k, const RunOptions& budget, bool resume)>;
// Evaluates the kept run in `o.out` (o.resume = o.out, o.evaluate_only): writes o.out/results.json.
using FinalFn = std::function<void(const RunOptions& o)>;

struct SearchOutcome {
  size_t winner = 0;
  std::vector<TrialReport> last;  // each trial's last report
};

// `o`: the run's options (out, seed, budgets, quiet, command). Refuses --resume and --max-steps (Error naming
// "--search") and needs --time-budget or --epochs. Creates o.out (RunDir: another run's files need --force).
SearchOutcome successive_halving(const std::vector<SearchCandidate>& candidates, const RunOptions& o, const TrialFn& run,
                                 const FinalFn& final_eval);

// The folder of trial k under `out`: out/trials/<k+1>-<name>.
std::string trial_dir(const std::string& out, size_t k, const SearchCandidate& c);

// The command record (cli/run_record.h JSON) of a run with candidate c's options instead of --search ("" stays "").
std::string candidate_command(const std::string& command, const SearchCandidate& c);

// The first n of `table` (n < 1 or > size: refused, naming --search and the table's size).
std::vector<SearchCandidate> first_candidates(const std::vector<SearchCandidate>& table, int64_t n);

}  // namespace recurrent::train
