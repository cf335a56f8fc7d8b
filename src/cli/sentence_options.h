// The options `train tag`, `train classify` and `train condlm` share, declared once on top of the
// CLI's vocabulary (cli/options.h): the recurrent stack and the training loop (tasks/sentence_loop.h's
// common_loop_options reads the same fields). `O` is the task's options struct
// (tasks::TagTrainOptions, ...), a train::RunOptions with cells, hidden, layers, batch, optimizer, lr
// and clip.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/options.h"

namespace recurrent::cli {

// --cell --hidden --layers, --recurrent-dropout --zoneout
template <class O>
void add_stack_options(CLI::App* c, O& o) {
  add_stack_options(c, o.cells, o.hidden, o.layers);
  add_recurrence_options(c, o.recurrent_dropout, o.zoneout);
}

// --batch, --optimizer --lr --clip, and the run options (add_run_options). `budget` receives
// --time-budget's text; finish_loop_options turns it into seconds.
template <class O>
void add_loop_options(CLI::App* c, O& o, std::string& budget, const char* batch_help = "sentences per batch") {
  c->add_option("--batch", o.batch, batch_help)->capture_default_str()->check(checked("positive"));
  add_optimizer_options(c, o.optimizer, o.lr, o.clip);
  add_run_options(c, o, budget);
}

// In the subcommand's callback: finish_run_options (budget in seconds, default epochs, --resume record).
template <class O>
void finish_loop_options(const std::string& task, const CLI::App* c, O& o, const std::string& budget,
                         int64_t default_epochs = 10) {
  finish_run_options(task, c, o, budget, default_epochs);
}

}  // namespace recurrent::cli
