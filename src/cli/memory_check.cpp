// Sizes that cannot fit, refused up front (contract in cli/memory_check.h).
#include "cli/memory_check.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/core/memory.h"
#include "recurrent/nn/rnn_types.h"

namespace recurrent::cli {

namespace {

// The size options a command's memory grows with, in the order they are named.
const char* const kSizeOptions[] = {"--hidden", "--embed", "--layers", "--d-model", "--ff", "--heads", "--context",
                                    "--seq-len", "--T", "--distance", "--lookback", "--batch", "--input-size",
                                    "--reservoir", "--feature-embed", "--label-embed", "--length", "--max-len",
                                    "--beam", "--eval-batch", "--sentences"};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  if (out.empty()) out.push_back("");
  return out;
}

// The option's value as given, else its default; "" when the command has no such option.
std::string text(const CLI::App& c, const std::string& name) {
  const CLI::Option* o = c.get_option_no_throw(name);
  if (o == nullptr) return "";
  return o->count() > 0 ? o->as<std::string>() : o->get_default_str();
}

double num(const CLI::App& c, const std::string& name, double dflt) {
  const std::string s = text(c, name);
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    return used == s.size() && v > 0 ? v : dflt;
  } catch (const std::exception&) {
    return dflt;
  }
}

// Gates of a cell by name (irnn, a lab's identity-initialised rnn_relu, and anything unknown: 1).
struct CellSize {
  double gates = 1;
  bool scan = false;  // no weight_hh
};
CellSize cell_size(const std::string& name) {
  try {
    const CellType t = parse_cell(name);
    return {static_cast<double>(gate_count(t)), is_scan_cell(t)};
  } catch (const std::exception&) {
    return {};
  }
}

struct Need {  // floats
  double params = 0, acts = 0;
};

// A recurrent stack: per layer and direction G·H·(I + H) weights (scan cells: G·H·I) and 2·G·H biases; a
// training step keeps every step's gates and state for BPTT: T·B·(G + 1)·H (`train` false: the outputs,
// T·B·H). `cells` and `hidden` hold one value or one per layer.
Need rnn(const std::vector<std::string>& cells, const std::vector<std::string>& hidden, double layers, double input,
         double T, double B, double dirs, bool train) {
  Need n, last;
  double in = input;
  // Layers past the lists' ends repeat the one before them (same cell, size and input): computed once.
  const double distinct = std::min(layers, static_cast<double>(std::max(cells.size(), hidden.size()) + 1));
  for (double l = 0; l < distinct; ++l) {
    const size_t i = static_cast<size_t>(l);
    const CellSize c = cell_size(cells[std::min(i, cells.size() - 1)]);
    double h = 1;
    try {
      h = std::max(1.0, std::stod(hidden[std::min(i, hidden.size() - 1)]));
    } catch (const std::exception&) {
    }
    if (in <= 0) in = h;
    last = {dirs * (c.gates * h * (in + (c.scan ? 0 : h)) + 2 * c.gates * h), dirs * T * B * (train ? c.gates + 1 : 1) * h};
    n.params += last.params, n.acts += last.acts;
    in = dirs * h;
  }
  n.params += (layers - distinct) * last.params, n.acts += (layers - distinct) * last.acts;
  return n;
}

// A transformer: per block 4·d² (attention) + 2·d·ff (feed-forward) weights; a training step keeps
// T·B·(4d + ff) activations and B·heads·T² attention weights per block.
Need transformer(double layers, double d, double ff, double heads, double T, double B) {
  return {layers * (4 * d * d + 2 * d * ff), layers * (T * B * (4 * d + ff) + B * heads * T * T)};
}

// Parameters, their gradients and the optimizer's state (Adam: two moments), and the activations.
double train_bytes(const CLI::App& c, const Need& n) {
  const std::string opt = text(c, "--optimizer");
  const double states = opt == "adam" || opt == "adamw" ? 2 : opt == "rmsprop" || opt == "adagrad" ? 1 : 0;
  return 4 * (n.params * (2 + states) + n.acts);
}

double rnn_task(const CLI::App& c, double input, double T, bool two_stacks = false) {
  const double embed = input > 0 ? input : num(c, "--embed", 0);
  Need n = rnn(split(text(c, "--cell")), split(text(c, "--hidden")), num(c, "--layers", 1), embed, T,
               num(c, "--batch", 1), 1, true);
  if (two_stacks) n.params *= 2, n.acts *= 2;
  return train_bytes(c, n);
}

double transformer_task(const CLI::App& c, double T) {
  return train_bytes(c, transformer(num(c, "--layers", 1), num(c, "--d-model", 1), num(c, "--ff", 1),
                                    num(c, "--heads", 1), T, num(c, "--batch", 1)));
}

// A lab or bench runs the listed cells one after another: the largest must fit.
double each_cell(const CLI::App& c, double layers, double input, double T, double dirs, bool train) {
  double most = 0;
  for (const std::string& cell : split(text(c, "--cell"))) {
    const Need n = rnn({cell}, split(text(c, "--hidden")), layers, input, T, num(c, "--batch", 1), dirs, train);
    most = std::max(most, train ? train_bytes(c, n) : 4 * (n.params + n.acts));
  }
  return most;
}

// A reservoir: the dense [N, N] matrix, and the readout's normal equations of about the same size.
double reservoir(const CLI::App& c) {
  const double N = num(c, "--reservoir", 1);
  return 4 * 2 * N * N;
}

// The chosen command and its path ("train lm").
const CLI::App* chosen(const CLI::App& app, std::string& path) {
  const CLI::App* cur = &app;
  for (std::vector<CLI::App*> subs = cur->get_subcommands(); !subs.empty(); subs = cur->get_subcommands()) {
    cur = subs.front();
    path += (path.empty() ? "" : " ") + cur->get_name();
  }
  return cur;
}

// The size options given, with their values ("--hidden 100000000 --layers 2"), or all of them the command
// has when none was given.
std::string sizes_given(const CLI::App& c) {
  std::string given, all;
  for (const char* name : kSizeOptions) {
    const CLI::Option* o = c.get_option_no_throw(name);
    if (o == nullptr) continue;
    all += std::string(all.empty() ? "" : ", ") + name;
    if (o->count() > 0) given += std::string(given.empty() ? "" : " ") + name + " " + o->as<std::string>();
  }
  return given.empty() ? all : given;
}

}  // namespace

std::string fmt_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char buf[64];
  if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1e EiB", bytes);
  else std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

MemoryLimit memory_limit() {
  MemoryLimit m{0, "memory and swap"};
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kb = 0;
    meminfo >> kb;
    if (key == "MemTotal:" || key == "SwapTotal:") m.bytes += kb * 1024;
    meminfo.ignore(1 << 10, '\n');
  }
  if (m.bytes <= 0) m.bytes = INFINITY;  // not Linux: no bound from here
  // cgroup v2: "0::/path" in /proc/self/cgroup → /sys/fs/cgroup/path/memory.max ("max": none)
  std::ifstream cg("/proc/self/cgroup");
  for (std::string line; std::getline(cg, line);) {
    if (line.rfind("0::", 0) != 0) continue;
    std::ifstream f("/sys/fs/cgroup" + line.substr(3) + "/memory.max");
    double v = 0;
    if (f >> v && v > 0 && v < m.bytes) m = {v, "its cgroup's memory.max"};
  }
  for (auto [res, what] : {std::pair{RLIMIT_AS, "ulimit -v"}, std::pair{RLIMIT_DATA, "ulimit -d"}}) {
    rlimit r{};
    if (getrlimit(res, &r) == 0 && r.rlim_cur != RLIM_INFINITY && static_cast<double>(r.rlim_cur) < m.bytes)
      m = {static_cast<double>(r.rlim_cur), what};
  }
  return m;
}

double memory_needed(const CLI::App& app) {
  std::string path;
  const CLI::App& c = *chosen(app, path);
  const bool tf = text(c, "--arch") == "transformer";
  if (path == "train lm")
    return tf ? transformer_task(c, c.count("--context") ? num(c, "--context", 1) : num(c, "--seq-len", 1))
              : rnn_task(c, 0, num(c, "--seq-len", 1));
  if (path == "train classify" || path == "train tag" || path == "train condlm") return rnn_task(c, 0, 1);
  if (path == "train seq2seq") return tf ? 2 * transformer_task(c, 1) : rnn_task(c, 0, 1, true);
  if (path == "train forecast") return rnn_task(c, 1, num(c, "--lookback", 1));
  if (path == "train music" || path == "train asr") return rnn_task(c, 1, 1);
  if (path == "train esn" || path == "gradlab esn") return reservoir(c);
  if (path == "bench")
    return each_cell(c, num(c, "--layers", 1), num(c, "--input-size", 0), num(c, "--seq-len", 1),
                     c.count("--bidirectional") ? 2 : 1, text(c, "--mode") != "infer");
  if (path == "gradlab transformer") return transformer_task(c, num(c, "--T", 1));
  if (path.rfind("experiment ", 0) == 0 || path == "gradlab train" || path == "gradlab profile")
    return each_cell(c, 1, 1, path == "experiment agreement" ? num(c, "--distance", 1) : num(c, "--T", 1), 1, true);
  return 0;
}

void check_memory(const CLI::App& app) {
  const MemoryLimit limit = memory_limit();
  if (std::isfinite(limit.bytes)) set_allocation_limit(static_cast<size_t>(std::min(limit.bytes, 1e19)));
  const double need = memory_needed(app);
  if (need <= limit.bytes) return;
  std::string path;
  const CLI::App& c = *chosen(app, path);
  throw Error("out of memory", sizes_given(c) + ": at least " + fmt_bytes(need) + " needed" +
                                   " (parameters with their gradients and optimizer state, and the activations "
                                   "one step keeps); this machine holds " + fmt_bytes(limit.bytes) + " (" +
                                   limit.what + "): give smaller sizes (see " + path + " --help)");
}

std::string oom_message(const CLI::App& app, double bytes) {
  std::string path;
  const CLI::App& c = *chosen(app, path);
  const MemoryLimit limit = memory_limit();
  return "out of memory: " +
         (bytes > 0 ? "an allocation of " + fmt_bytes(bytes) + " failed" : std::string("an allocation failed")) +
         " (this machine holds " + fmt_bytes(limit.bytes) + ", " + limit.what + ", other processes included); the " +
         "sizes given: " + sizes_given(c) + " (see " + (path.empty() ? "" : path + " ") + "--help)";
}

}  // namespace recurrent::cli
