// The CLI's subcommands, one file each (src/cli/cmd_<name>.cpp). main.cpp registers them in the
// order listed here, which is the order `recurrent --help` shows.
#pragma once

#include <CLI/CLI.hpp>

namespace recurrent::cli {

void add_inspect(CLI::App& app);
void add_forward(CLI::App& app);
void add_train(CLI::App& app);   // `train` and its tasks (cmd_train.cpp); `train lm` in cmd_train_lm.cpp
void add_eval(CLI::App& app);
void add_score(CLI::App& app);
void add_sample(CLI::App& app);

// The `train` subcommand group (created on first use) and its tasks.
CLI::App* train_group(CLI::App& app);
void add_train_lm(CLI::App& train);
void add_train_classify(CLI::App& train);  // cmd_train_classify.cpp
void add_bench(CLI::App& app);
void add_gradlab(CLI::App& app);
void add_gradlab_transformer(CLI::App& app);  // `gradlab transformer` (cmd_gradlab_transformer.cpp), after add_gradlab

}  // namespace recurrent::cli
