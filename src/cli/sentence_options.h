// The options `train tag`, `train classify` and `train condlm` share, declared once: the recurrent
// stack and the training loop (tasks/sentence_loop.h's common_loop_options reads the same fields);
// seq2seq and forecast share the budget/epochs rule (finish_loop_options).
// `O` is the task's options struct (tasks::TagTrainOptions, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "recurrent/train/loop.h"

namespace recurrent::cli {

// --cell --hidden --layers
template <class O>
void add_stack_options(CLI::App* c, O& o) {
  c->add_option("--cell", o.cells, "cell per layer (one name or a comma list): rnn_tanh rnn_relu lstm "
                "lstm_peephole gru gru_cho gru_simple")->capture_default_str();
  c->add_option("--hidden", o.hidden, "hidden size, or a comma list per layer")->capture_default_str();
  c->add_option("--layers", o.layers, "recurrent layers")->capture_default_str();
}

// --batch --epochs --time-budget --max-steps --optimizer --lr --clip --log-every --out --resume --seed
// --quiet. `budget` receives --time-budget's text; finish_loop_options turns it into seconds.
template <class O>
void add_loop_options(CLI::App* c, O& o, std::string& budget) {
  c->add_option("--batch", o.batch, "sentences per batch")->capture_default_str();
  c->add_option("--epochs", o.epochs, "passes over the training data (default 10 without --time-budget)");
  c->add_option("--time-budget", budget, "training wall time incl. validation: 90s, 30m, 1.5h");
  c->add_option("--max-steps", o.max_steps, "stop after this many steps in total, saving last.safetensors");
  c->add_option("--optimizer", o.optimizer, "sgd, adam, adamw, rmsprop or adagrad")->capture_default_str();
  c->add_option("--lr", o.lr, "learning rate")->capture_default_str();
  c->add_option("--clip", o.clip, "clip the global gradient norm to this (0: off)")->capture_default_str();
  c->add_option("--log-every", o.log_every, "seconds between progress lines when stderr is not a terminal")
      ->capture_default_str();
  c->add_option("--out", o.out, "output directory (default: the --resume directory)");
  c->add_option("--resume", o.resume, "continue the run saved in this directory (its last.safetensors)");
  c->add_option("--seed", o.seed, "random seed (initialisation, order, dropout)")->capture_default_str();
  c->add_flag("--quiet", o.quiet, "no progress on stderr");
}

// In the subcommand's callback: --time-budget in seconds; `default_epochs` when nothing else limits
// the run (no --epochs, --time-budget or --max-steps).
template <class O>
void finish_loop_options(const CLI::App* c, O& o, const std::string& budget, int64_t default_epochs = 10) {
  if (!budget.empty()) o.time_budget = train::parse_duration(budget, "--time-budget");
  if (c->count("--epochs") == 0 && o.time_budget == 0 && o.max_steps == 0) o.epochs = default_epochs;
}

}  // namespace recurrent::cli
