// The CLI's option vocabulary: one definition of each option that several subcommands share, and the
// range checks every numeric option carries, with the project's messages ("--hidden: expected a
// positive integer, got 0"). Every option of every subcommand has exactly one check (a CLI11
// validator whose name is the kind below); tests/cli/test_option_walk.cpp walks them all through
// `recurrent --list-options` and tries a value of the wrong kind on each.
//
// kinds: positive (integer ≥ 1), count (integer ≥ 0), seed (integer 0…2^64−1), real (finite),
//   positive-real (> 0), nonneg-real (≥ 0), fraction (0 ≤ p < 1), probability (0 < p ≤ 1), duration (90s, 30m, 1.5h; 0: none),
//   positive-list (comma list of integers ≥ 1), nonneg-real-list, file (an existing file), dir (an existing folder), path (either),
//   choice (one of a fixed set), choice-list (a comma list of them), range (an integer in [lo, hi]),
//   cells (cell names, comma list), text (free text, paths to write). A duration's value becomes seconds.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "recurrent/train/run.h"

namespace recurrent::cli {

// The check of a kind; attach with opt->check(checked("positive")).
CLI::Validator checked(const std::string& kind);
// A choice among `names` (a comma list in the message); choice_list: a comma list of such names.
CLI::Validator choice(const std::vector<std::string>& names);
CLI::Validator choice_list(const std::vector<std::string>& names);
// An integer in [lo, hi] (kind "range").
CLI::Validator int_range(int64_t lo, int64_t hi);

// --epochs --time-budget --max-steps --out --resume --force --seed --quiet --log-every: the options of
// a training run (train::RunOptions), the same in every `train TASK`. `budget` receives --time-budget's
// text; finish_run_options turns it into seconds.
void add_run_options(CLI::App* c, train::RunOptions& o, std::string& budget);

// In the subcommand's callback: the budget in seconds, `default_epochs` when nothing else limits the
// run (no --epochs, --time-budget or --max-steps), and the command record for --resume (run_record.h).
void finish_run_options(const std::string& task, const CLI::App* c, train::RunOptions& o, const std::string& budget,
                        int64_t default_epochs = 10);

// Every cell name (cell_names()) joined by " | ", for an option's help.
std::string cell_choices();

// --cell --hidden --layers: a recurrent stack (one cell name or a comma list; sizes likewise).
void add_stack_options(CLI::App* c, std::string& cells, std::string& hidden, int64_t& layers);

// --recurrent-dropout --zoneout: regularisers inside the recurrence, every layer (rnn_types.h LayerSpec).
void add_recurrence_options(CLI::App* c, double& recurrent_dropout, double& zoneout);

// --optimizer --lr --clip
void add_optimizer_options(CLI::App* c, std::string& optimizer, double& lr, double& clip);

// `recurrent --list-options`: one JSON line per option of every subcommand
// {"command": "train lm", "option": "--hidden", "kind": "positive", "flag": false, "required": false}.
void list_options(const CLI::App& app);

// The kind of an option's check ("" if it has none of the kinds above).
std::string option_kind(const CLI::Option* o);

// A parse error as one line naming the culprit: an unknown command at any level ("unknown command
// 'train foo' (train takes: lm, classify, …)"), an option given twice, else CLI11's text + "(see --help)".
std::string usage_message(const CLI::App& app, const CLI::ParseError& e);

}  // namespace recurrent::cli
