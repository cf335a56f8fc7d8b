// explore/runs.h — what `recurrent explore` reads from run folders: which folders are runs, their
// metrics.csv as columns of numbers, and the gradient-flow lines of diagnostics.jsonl (docs/explore.md).
//
// A path given to the explorer is a run itself (it holds metrics.csv, diagnostics.jsonl, the gradient
// lab's dh.csv or a model file: best.safetensors / last.safetensors), a model file (.safetensors), or a folder of runs: its
// sub-folders that are runs, found again on every listing so a run started later appears.
// Everything here only reads files; a file that is being written is read up to its last whole line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recurrent::explore {

struct RunEntry {
  std::string name;  // unique among the listed runs (a "-2" suffix on a clash)
  std::string dir;   // the folder (for a model file: the file)
  bool metrics = false, diagnostics = false, model = false;
};

// The runs under `paths` (each as described above), in the order given, sub-folders sorted by name.
std::vector<RunEntry> list_runs(const std::vector<std::string>& paths);

// metrics.csv → {"columns": [names], "rows": [[number|null …] …] (rows [from, total)), "total": N}.
// Only whole lines count (a row being written is left for the next read); a field that is empty or
// not a number is null. Error(path, ...) when the file cannot be read.
nlohmann::json read_metrics(const std::string& path, int64_t from);

// diagnostics.jsonl → {"steps": [{"step", "loss", "grad_norm", "layers": [{"layer", "dir", "dh": [T],
// "dc": [T] (LSTM)}]}], "probed": N} — N the probed steps in the file (lines that are whole JSON objects
// with "layers"; others are skipped), of which at most `max_lines` are sent, evenly spaced, first and last kept.
nlohmann::json read_diagnostics(const std::string& path, size_t max_lines = 400);

// The gradient lab's dh.csv (docs/gradlab.md: model,clip,step,t,distance,dh_norm) in read_diagnostics's
// form: one series per (model, clip), "name": "lstm clip 1", its ‖∂L/∂h_t‖ by t; at most `max_steps`.
nlohmann::json read_gradlab_dh(const std::string& path, size_t max_steps = 400);

// A non-negative integer query parameter ("" → `fallback`); nullopt when it is anything else.
std::optional<int64_t> parse_count(const std::string& text, int64_t fallback);

}  // namespace recurrent::explore
