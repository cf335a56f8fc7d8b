// The CLI's subcommands, one file each (src/cli/cmd_<name>.cpp). main.cpp registers them in the
// order listed here, which is the order `recurrent --help` shows.
#pragma once

#include <CLI/CLI.hpp>

namespace recurrent::cli {

void add_inspect(CLI::App& app);
void add_forward(CLI::App& app);
void add_gradlab(CLI::App& app);

}  // namespace recurrent::cli
