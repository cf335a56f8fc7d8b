// recurrent/train/loop.h — the pieces every training loop shares: one optimisation step with
// gradient checks, an optimizer factory, durations, Ctrl-C handling, a metrics CSV and a progress
// display on stderr.
//
// train_step: zero_grad → loss = loss_fn() → backward → norm = ‖g‖₂ over all parameters (before
// clipping) → a NaN/Inf loss or norm throws Error("training", "... at step N ...") BEFORE the
// optimizer touches the weights → clip to max_norm (0: no clipping) → optimizer step.
// Under mpirun (dist.h) loss_fn is this rank's shard of the global batch, a mean over `weight` units
// (rows, sentences, tokens; 0: an empty shard, loss_fn is not called); after backward the gradients and
// the loss become the global batch's mean (reduce_gradients), so the checks, the clipping and the step
// are the same on every rank. A single process ignores `weight`.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/optim/optimizer.h"

namespace recurrent::train {

struct StepStats {
  double loss = 0.0;       // the value loss_fn returned
  double grad_norm = 0.0;  // before clipping
};

StepStats train_step(const std::function<Var()>& loss_fn, Optimizer& opt, double clip, int64_t step,
                     double weight = 1.0);

// "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad" with the given lr and the algorithm's PyTorch defaults
// (momentum / weight decay 0, except AdamW's 1e-2).
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const NamedParams& params, double lr);

// "90" / "90s" / "30m" / "1.5h" → seconds; throws Error(where, ...) otherwise.
double parse_duration(const std::string& s, const std::string& where);
std::string format_duration(double seconds);  // "1h02m", "4m05s", "12s"

// SIGINT: the first Ctrl-C sets a flag the loop polls (so it can save and exit); the handler then
// restores the default action, so a second Ctrl-C kills at once.
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();  // for tests and for loops that run again
// For a program that takes its stop signals on a thread of its own (the CLI: cli/interrupts.h takes
// SIGINT, SIGTERM and SIGHUP): whether a loop has installed the handler (then the first signal should
// only ask it to stop), and the request itself with the signal that made it (default SIGINT = 2).
bool interrupt_armed();
void request_interrupt(int signal = 2);
// The signal of the last interrupt (SIGINT unless request_interrupt said otherwise): a command that
// stopped on it exits with 128 + it, as a shell reports a process killed by it.
int interrupt_signal();

// Metrics CSV with a fixed header. Opening for a resumed run keeps only the rows with step ≤ keep_upto.
// Under mpirun only rank 0 writes it (and shows the Progress below); the others' calls do nothing.
class MetricsCsv {
 public:
  MetricsCsv(const std::string& path, const std::vector<std::string>& columns, bool resume, int64_t keep_upto);
  ~MetricsCsv();
  MetricsCsv(const MetricsCsv&) = delete;
  MetricsCsv& operator=(const MetricsCsv&) = delete;
  void row(const std::vector<std::string>& values);  // one value per column ("" for none)

 private:
  std::FILE* f_ = nullptr;
  size_t ncol_;
};
std::string fmt_num(double v, int digits = 6);  // %.{digits}g

// Progress on stderr: on a terminal one line redrawn in place (≤ 4 times a second); otherwise
// a plain line every `plain_every` seconds. line() prints a permanent line (epoch summaries).
class Progress {
 public:
  explicit Progress(double plain_every = 10.0);
  void update(const std::string& text, bool force = false);
  void line(const std::string& text);
  bool is_tty() const { return tty_; }

 private:
  bool tty_;
  double every_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_;
  bool first_ = true;
};

}  // namespace recurrent::train
