// The record of a training command, which makes `recurrent train TASK --resume DIR` self-contained.
//
// record_options(task, sub) — after `train TASK` parsed: JSON
//   {"task": "lm", "options": {"--data": ["/abs/moby.txt"], "--hidden": ["256"], "--quiet": []}}
//   with every option given on the command line (flags with no values; the values of options whose
//   check is a file, folder or path made absolute, so a resume from another folder finds them),
//   except --resume, --out and --force; and "engine": the SIMD target the run computed on and the thread
//   count when one was chosen (--threads, RECURRENT_NUM_THREADS). The tasks store it in every checkpoint
//   (train::RunOptions::command).
//
// expand_resume(app, args) — before parsing: for `train TASK … --resume DIR …`, reads the record in
//   DIR/last.safetensors and returns args with every recorded option that the command line does not
//   give appended, so the run continues with its data, batching, model and budgets. A given option
//   that differs from the record is refused unless it may change between the parts of a run
//   (may_change_on_resume: budgets, progress output, data paths; values compare as numbers and
//   paths). A budget given replaces the recorded one of its kind, and any budget given drops the
//   recorded --max-steps (the stop point of the earlier part). Progress output (--quiet, --log-every,
//   --diagnostics) is this command's own: not re-entered, given again to keep it. The recorded target and
//   thread count are re-entered unless chosen now (a target this CPU lacks: left out). A run without a
//   record (made before records existed) is left as it is.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace recurrent::cli {

std::string record_options(const std::string& task, const CLI::App& sub);

std::vector<std::string> expand_resume(const CLI::App& app, const std::vector<std::string>& args);

bool may_change_on_resume(const std::string& option);

}  // namespace recurrent::cli
