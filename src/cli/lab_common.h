// Shared by `recurrent gradlab train` (cmd_gradlab.cpp) and `recurrent experiment` (cmd_experiment.cpp):
// parsing of the cell / clip lists, the CSV files the runs write (read by scripts/gradlab/plot.py), the
// progress lines, and the loop over every (cell, clip) run with its summary table.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "recurrent/tasks/gradlab.h"

namespace recurrent::cli::lab {

std::vector<std::string> split_list(const std::string& s);  // "a,b,,c" → {a, b, c}
std::vector<std::string> cell_names();  // the lab's --cell names: every cell_names() entry, plus "irnn"
std::vector<double> clip_values(const std::string& s);       // "0,1" → {0, 1}; throws Error("--clip", …)
// Every (cell, init) pair; "irnn" fixes its own initialisation, so it appears once.
inline constexpr const char* kUpdateBiasHelp =
    "gru/gru_cho update-gate (z, keep) bias; 0 (default): PyTorch init, zero-mean biases. 1 is the analogue "
    "of the LSTM's default forget bias 1 and is what the GRU needs for agreement at D = 50 (docs/gradlab.md)";
inline constexpr const char* kChronoHelp =
    "LSTM chrono init T_max (Tallec & Ollivier 2018): b_f = log U(1, T_max-1), b_i = -b_f; 0: off";
std::vector<tasks::LabModel> models(const std::string& cells, const std::string& inits, double rho, double forget_bias,
                                    double update_bias = 0.0, double chrono = 0.0);  // chrono: LSTM cells only

std::ofstream open_csv(const std::string& dir, const std::string& name, const std::string& header);

// DIR/train.csv (every step), gates.csv and dh.csv (probed steps), summary.csv (one row per run).
struct TrainCsv {
  std::ofstream train, gates, dh, summary;
  explicit TrainCsv(const std::string& dir);  // "" → writes nothing
  void record(const std::string& model, double clip, const tasks::LabRecord& r);
  void result(const std::string& task, int64_t T, const std::string& model, double clip, const tasks::LabResult& r);
};

struct Row {
  std::string model;
  double clip = 0.0;
  tasks::LabResult r;
};

// Trains every model with every clip value (cfg.clip is overwritten per run). CSV into `csv`; progress
// lines on stdout unless json, where one summary line per run is printed instead (json_line).
std::vector<Row> train_all(tasks::LabConfig cfg, const std::vector<tasks::LabModel>& models,
                           const std::vector<double>& clips, TrainCsv& csv, bool json);

// The summary JSON line of one run: {"cell", "clip", "metric", "value", "steps", …}. Classification tasks
// (agreement, seqimage) report metric "accuracy"; adding "mse"; copy "ce" (with the accuracy beside it).
std::string json_line(const tasks::LabConfig& cfg, const Row& w);

// The table: final metric, accuracy, steps run, steps to solve, gradient ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖.
void print_table(std::FILE* f, const tasks::LabConfig& cfg, const std::vector<Row>& rows, bool markdown);

}  // namespace recurrent::cli::lab
