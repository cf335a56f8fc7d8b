// --search N: successive halving within the run's budget (contract in include/recurrent/train/search.h).
#include "recurrent/train/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/loop.h"

namespace recurrent::train {

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct TrialState {
  TrialReport report;
  bool started = false;
  double allowance = 0;  // cumulative seconds (time mode) or epochs (epoch mode)
};

// One row of trials.csv / one line on stderr per trial and rung.
struct Logger {
  explicit Logger(const RunOptions& o) : o_(o) {}
  void row(int64_t rung, int64_t rungs, size_t k, const SearchCandidate& c, double allowance, bool time_mode,
           const TrialReport& r, double wall, bool kept) {
    const std::string setting = [&] {
      std::string s;
      for (const auto& [f, v] : c.flags) s += (s.empty() ? "" : " ") + f + (v.empty() ? "" : " " + v);
      return s;
    }();
    csv_ += std::to_string(rung + 1) + "," + std::to_string(k + 1) + "," + c.name + ",\"" + setting + "\"," +
            fmt_num(allowance) + "," + std::to_string(r.epochs) + "," + fmt_num(r.train_seconds, 5) + "," +
            fmt_num(wall, 5) + "," + fmt_num(r.score, 10) + "," + (r.finished ? "1" : "0") + "," + (kept ? "1" : "0") + "\n";
    rows_.push_back({{"rung", rung + 1}, {"trial", k + 1}, {"name", c.name}, {"options", setting},
                     {time_mode ? "budget_seconds" : "budget_epochs", allowance}, {"epochs", r.epochs},
                     {"train_seconds", r.train_seconds}, {"wall_seconds", wall}, {"score", r.score},
                     {"summary", r.summary}, {"finished", r.finished}, {"kept", kept}});
    if (!o_.quiet) {
      char buf[400];
      std::snprintf(buf, sizeof buf, "search rung %lld/%lld  trial %zu %-20s %s after %lld epochs (%s%s)%s",
                    static_cast<long long>(rung + 1), static_cast<long long>(rungs), k + 1, c.name.c_str(),
                    r.summary.c_str(), static_cast<long long>(r.epochs), format_duration(r.train_seconds).c_str(),
                    r.finished ? ", stopped by itself" : "", kept ? "  kept" : "");
      std::fprintf(stderr, "%s\n", buf);
    }
  }
  void write(const std::string& out) const {
    io::write_file_atomic((fs::path(out) / "trials.csv").string(),
                          "rung,trial,name,options,budget,epochs,train_seconds,wall_seconds,valid_score,finished,kept\n" + csv_);
    io::write_file_atomic((fs::path(out) / "trials.json").string(), json(rows_).dump(2) + "\n");
  }
  const RunOptions& o_;
  std::string csv_;
  json rows_ = json::array();
};

// The k indices of `alive` with the best scores (ties: the earlier candidate), in candidate order.
std::vector<size_t> best_half(const std::vector<size_t>& alive, const std::vector<TrialState>& t) {
  std::vector<size_t> s = alive;
  std::stable_sort(s.begin(), s.end(), [&](size_t a, size_t b) { return t[a].report.score > t[b].report.score; });
  s.resize((s.size() + 1) / 2);
  std::sort(s.begin(), s.end());
  return s;
}

// The kept trial's checkpoints (its record already names its candidate's options) and metrics, into the run's folder.
void copy_winner(const std::string& from, const std::string& out) {
  for (const char* f : {"best.safetensors", "metrics.csv", "last.safetensors"}) {
    std::error_code ec;
    if (fs::exists(fs::path(from) / f, ec))
      fs::copy_file(fs::path(from) / f, fs::path(out) / f, fs::copy_options::overwrite_existing);
  }
}
// Each unfinished trial's cumulative allowance for rung r: with a time budget (left: seconds left of it) an
// even share of left / (rungs − r); with --epochs E alone E·2^(r−rungs+1) epochs (at least 1).
void set_allowances(std::vector<TrialState>& t, const std::vector<size_t>& alive, int64_t r, int64_t rungs,
                    const RunOptions& o, double left) {
  std::vector<size_t> active;
  for (size_t k : alive)
    if (!t[k].report.finished) active.push_back(k);
  for (size_t k : active) {
    if (o.time_budget > 0) {
      t[k].allowance = t[k].report.train_seconds + left / static_cast<double>(rungs - r) / static_cast<double>(active.size());
    } else {
      const double e = std::ldexp(static_cast<double>(o.epochs), static_cast<int>(r - rungs + 1));
      t[k].allowance = std::max<double>(1.0, std::round(e));
    }
  }
}

// Trains trial k (fresh, or resumed in its folder) up to its allowance, as a validation-only run.
void run_trial(TrialState& s, size_t k, const SearchCandidate& c, const RunOptions& o, bool time_mode, const TrialFn& run) {
  RunOptions b = o;
  b.out = trial_dir(o.out, k, c);
  b.resume = s.started ? b.out : "";
  b.force = false, b.quiet = true, b.trial = true, b.evaluate_only = false;
  b.command = candidate_command(o.command, c);
  if (time_mode) b.time_budget = std::max(s.allowance, s.report.train_seconds + 1e-3);
  else b.epochs = static_cast<int64_t>(s.allowance);
  const bool budget_left = !s.started || (time_mode ? s.report.train_seconds < b.time_budget : s.report.epochs < b.epochs);
  if (!budget_left) return;
  s.report = run(k, b, s.started);
  s.started = true;
  if (interrupted()) throw Error("--search", "interrupted in trial " + std::to_string(k + 1) + " (" + b.out + ")");
  // With a time budget, reaching --epochs also ends a trial for good.
  if (time_mode && o.epochs > 0 && s.report.epochs >= o.epochs) s.report.finished = true;
}
}  // namespace

std::string trial_dir(const std::string& out, size_t k, const SearchCandidate& c) {
  return (fs::path(out) / "trials" / (std::to_string(k + 1) + "-" + c.name)).string();
}

std::vector<SearchCandidate> first_candidates(const std::vector<SearchCandidate>& table, int64_t n) {
  RC_CHECK(n >= 1 && n <= static_cast<int64_t>(table.size()), "--search", "expected 1 to ", table.size(),
           " candidates (the evidence table of docs/defaults.md), got ", n);
  return {table.begin(), table.begin() + n};
}

std::string candidate_command(const std::string& command, const SearchCandidate& c) {
  if (command.empty()) return command;
  json j;
  try {
    j = json::parse(command);
  } catch (const json::exception&) {
    return command;  // not a record this function knows: left as it is
  }
  if (!j.is_object() || !j.contains("options") || !j["options"].is_object()) return command;
  json& opts = j["options"];
  opts.erase("--search");
  for (const auto& [f, v] : c.flags) {
    // A flag and its negation ("--bidirectional" / "--no-bidirectional") replace each other.
    const std::string other = f.rfind("--no-", 0) == 0 ? "--" + f.substr(5) : "--no-" + f.substr(2);
    opts.erase(other);
    opts[f] = v.empty() ? json::array() : json::array({v});
  }
  return j.dump();
}

SearchOutcome successive_halving(const std::vector<SearchCandidate>& cands, const RunOptions& o, const TrialFn& run,
                                 const FinalFn& final_eval) {
  RC_CHECK(o.resume.empty(), "--search", "a search cannot be resumed (its kept run can: resume its folder without --search)");
  RC_CHECK(o.max_steps == 0, "--search", "budgets trials by --time-budget or --epochs, not --max-steps");
  RC_CHECK(o.time_budget > 0 || o.epochs > 0, "--search", "needs --time-budget or --epochs");
  RC_CHECK(!cands.empty(), "--search", "no candidates");
  RunDir dir(o);
  dir.create();
  std::error_code ec;
  if (o.force) fs::remove_all(fs::path(o.out) / "trials", ec);
  const auto t0 = Clock::now();
  auto wall = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  const bool time_mode = o.time_budget > 0;
  const size_t n = cands.size();
  int64_t rungs = 1;
  while ((size_t{1} << (rungs - 1)) < n) ++rungs;  // ⌈log₂ n⌉ + 1
  std::vector<TrialState> t(n);
  std::vector<size_t> alive(n);
  for (size_t k = 0; k < n; ++k) alive[k] = k;
  Logger log(o);
  if (!o.quiet)
    std::fprintf(stderr, "search: %zu candidates, %lld rungs of successive halving within %s on validation\n", n,
                 static_cast<long long>(rungs), time_mode ? format_duration(o.time_budget).c_str()
                                                          : (std::to_string(o.epochs) + " epochs").c_str());
  for (int64_t r = 0; r < rungs; ++r) {
    set_allowances(t, alive, r, rungs, o, time_mode ? std::max(0.0, o.time_budget - wall()) : 0.0);
    for (size_t k : alive) {
      const double w0 = wall();
      if (!t[k].report.finished) run_trial(t[k], k, cands[k], o, time_mode, run);
      log.row(r, rungs, k, cands[k], t[k].allowance, time_mode, t[k].report, wall() - w0, r + 1 == rungs);
    }
    alive = best_half(alive, t);
  }
  const size_t win = alive.front();
  log.write(o.out);
  copy_winner(trial_dir(o.out, win, cands[win]), o.out);
  RunOptions f = o;
  f.resume = o.out, f.force = false, f.trial = false, f.evaluate_only = true;
  f.command = candidate_command(o.command, cands[win]);
  final_eval(f);
  const std::string results = (fs::path(o.out) / "results.json").string();
  if (is_writer() && fs::exists(results, ec)) {  // the run's results name the search that chose it
    json j = json::parse(data::read_file(results));
    j["search"] = {{"candidates", n}, {"rungs", rungs}, {"kept", cands[win].name}, {"kept_trial", win + 1},
                   {"budget", time_mode ? "time" : "epochs"}, {"trials", "trials.csv"}};
    io::write_file_atomic(results, j.dump(2) + "\n");
  }
  SearchOutcome res;
  res.winner = win;
  for (const TrialState& s : t) res.last.push_back(s.report);
  return res;
}

}  // namespace recurrent::train
