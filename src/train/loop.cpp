// Shared training-loop pieces (contract in include/recurrent/train/loop.h).
#include "recurrent/train/loop.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "recurrent/core/error.h"
#include "recurrent/optim/adagrad.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"
#include "recurrent/optim/rmsprop.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/train/dist.h"

namespace recurrent::train {

StepStats train_step(const std::function<Var()>& loss_fn, Optimizer& opt, double clip, int64_t step, double weight) {
  opt.zero_grad();
  const bool dist = world_size() > 1;
  // Under mpirun backward is seeded with this rank's share of the global batch, so its gradients arrive
  // scaled for the sum (dist.h); one process: 1.
  const double share = global_share(weight, step);
  double l = 0;
  if (!dist || weight > 0) {
    Var loss = loss_fn();
    l = loss.value().item();
    if (!dist) RC_CHECK(std::isfinite(l), "training", "the loss is ", l, " at step ", step,
                        " (weights not updated; try a lower --lr or a --clip)");
    loss.backward(Tensor::full(loss.value().shape(), static_cast<float>(share)));
  }
  // Under mpirun: the global batch's mean loss and gradients, the same on every rank (dist.h).
  if (dist) {
    l = reduce_gradients(opt.params(), l, weight, step, /*scaled=*/true);
    RC_CHECK(std::isfinite(l), "training", "the loss is ", l, " at step ", step,
             " (weights not updated; try a lower --lr or a --clip)");
  }
  std::vector<Var> ps;
  for (auto& [n, p] : opt.params()) ps.push_back(p);
  // Under mpirun each rank sums the squares of its part of the (identical) gradients (dist.h).
  const double unclipped = global_grad_norm(opt.params(), step);
  const double norm = clip > 0 ? clip_grad_norm(ps, clip, unclipped) : unclipped;
  RC_CHECK(std::isfinite(norm), "training", "the gradient norm is ", norm, " at step ", step, " (loss ", l,
           "; weights not updated; try a lower --lr or a --clip)");
  opt.step();
  return {l, norm};
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const NamedParams& params, double lr) {
  RC_CHECK(std::isfinite(lr) && lr > 0, "--lr", "expected a positive learning rate, got ", lr);
  if (name == "sgd") {
    SgdOptions o;
    o.lr = lr;
    return std::make_unique<Sgd>(params, o);
  }
  if (name == "adam" || name == "adamw") {
    AdamOptions o = name == "adam" ? AdamOptions{} : adamw_defaults();
    o.lr = lr;
    if (name == "adam") return std::make_unique<Adam>(params, o);
    return std::make_unique<AdamW>(params, o);
  }
  if (name == "rmsprop") {
    RmspropOptions o;
    o.lr = lr;
    return std::make_unique<Rmsprop>(params, o);
  }
  if (name == "adagrad") {
    AdagradOptions o;
    o.lr = lr;
    return std::make_unique<Adagrad>(params, o);
  }
  throw Error("--optimizer", "expected sgd, adam, adamw, rmsprop or adagrad, got '" + name + "'");
}

double parse_duration(const std::string& s, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = s.substr(used);
  const double mult = unit.empty() || unit == "s" ? 1 : unit == "m" || unit == "min" ? 60 : unit == "h" ? 3600 : -1;
  RC_CHECK(used > 0 && mult > 0 && std::isfinite(v) && v > 0, where,
           "expected a positive duration such as 90, 90s, 30m or 1.5h, got '", s, "'");
  return v * mult;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

namespace {
std::atomic<bool> g_interrupted{false}, g_armed{false};
std::atomic<int> g_signal{SIGINT};
extern "C" void on_sigint(int) {
  g_signal.store(SIGINT);
  g_interrupted.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once
}
}  // namespace

void install_interrupt_handler() {
  g_armed.store(true);
  std::signal(SIGINT, on_sigint);
}
bool interrupt_armed() { return g_armed.load(); }
void request_interrupt(int signal) {
  g_signal.store(signal);
  g_interrupted.store(true);
}
int interrupt_signal() { return g_signal.load(); }
bool interrupted() { return g_interrupted.load(); }
void clear_interrupt() { g_interrupted.store(false); }

std::string fmt_num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

MetricsCsv::MetricsCsv(const std::string& path, const std::vector<std::string>& columns, bool resume,
                       int64_t keep_upto)
    : ncol_(columns.size()) {
  if (!is_writer()) return;  // under mpirun rank 0 writes the run's files
  std::string header;
  for (size_t i = 0; i < columns.size(); ++i) header += (i ? "," : "") + columns[i];
  std::string kept = header + "\n";
  if (resume) {  // keep the rows up to the checkpoint's step (column 0 is the step)
    std::ifstream in(path);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) { first = false; continue; }
      if (!line.empty() && std::stoll(line.substr(0, line.find(','))) <= keep_upto) kept += line + "\n";
    }
  }
  f_ = std::fopen(path.c_str(), "w");
  RC_CHECK(f_ != nullptr, path, "cannot open for writing: ", std::strerror(errno));
  std::fputs(kept.c_str(), f_);
  std::fflush(f_);
}

MetricsCsv::~MetricsCsv() {
  if (f_) std::fclose(f_);
}

void MetricsCsv::row(const std::vector<std::string>& values) {
  RC_CHECK(values.size() == ncol_, "metrics", "expected ", ncol_, " values, got ", values.size());
  if (!f_) return;
  std::string line;
  for (size_t i = 0; i < values.size(); ++i) line += (i ? "," : "") + values[i];
  std::fprintf(f_, "%s\n", line.c_str());
  std::fflush(f_);
}

Progress::Progress(double plain_every) : tty_(::isatty(STDERR_FILENO) == 1), every_(plain_every) {}

void Progress::update(const std::string& text, bool force) {
  if (!is_writer()) return;  // under mpirun rank 0 shows the progress
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (!force && !first_ && since < (tty_ ? 0.25 : every_)) return;
  first_ = false;
  last_ = now;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    dirty_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void Progress::line(const std::string& text) {
  if (!is_writer()) return;
  std::fprintf(stderr, "%s%s\n", tty_ && dirty_ ? "\r\033[K" : "", text.c_str());
  dirty_ = false;
  std::fflush(stderr);
}

}  // namespace recurrent::train
