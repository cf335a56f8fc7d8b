// Run folders and run budgets (contract in include/recurrent/train/run.h).
#include "recurrent/train/run.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "recurrent/core/error.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/loop.h"

namespace recurrent::train {

namespace {
namespace fs = std::filesystem;

// A run file, or the temporary file of an atomic write of one ("<name>.tmp.XXXXXX").
bool is_run_file(const std::string& name) {
  for (const std::string& f : RunDir::run_files())
    if (name == f || name.rfind(f + ".tmp.", 0) == 0) return true;
  return false;
}

std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (is_run_file(name)) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}
}  // namespace

const std::vector<std::string>& RunDir::run_files() {
  static const std::vector<std::string> files = {"last.safetensors", "best.safetensors", "results.json", "metrics.csv",
                                                 "diagnostics.jsonl", "valid.hyp.txt", "test.hyp.txt",
                                                 "test_beam.hyp.txt", "trials.csv", "trials.json"};
  return files;
}

bool RunDir::holds_run(const std::string& dir) { return fs::is_directory(dir) && !run_files_in(dir).empty(); }

RunDir::RunDir(const RunOptions& o) : dir_(o.out.empty() ? o.resume : o.out), force_(o.force) {
  RC_CHECK(!dir_.empty(), "--out", "give an output folder for checkpoints and metrics");
  RC_CHECK(!fs::exists(dir_) || fs::is_directory(dir_), "--out", dir_, " is a file; expected a folder (new or a run's)");
  std::error_code ec;
  const bool own = !o.resume.empty() && fs::equivalent(dir_, o.resume, ec);
  // A resumed run continues in its own folder: its metrics, best model and results are there.
  RC_CHECK(o.resume.empty() || own, "--out", "a resumed run writes into its own folder (", o.resume,
           "); to branch a run, copy its folder and resume the copy");
  // Under mpirun rank 0 checks and makes the folder; the others (which never write into it) would race
  // with its first files.
  if (own || force_ || !is_writer() || !holds_run(dir_)) return;
  std::string files;
  for (const std::string& f : run_files_in(dir_)) files += (files.empty() ? "" : ", ") + f;
  throw Error("--out", dir_ + " holds another run (" + files + "); continue it with --resume " + dir_ +
                           ", choose another --out, or add --force to replace it");
}

std::string RunDir::file(const std::string& name) const { return (fs::path(dir_) / name).string(); }

void RunDir::create() {
  if (created_ || !is_writer()) return;
  if (force_)
    for (const std::string& f : run_files_in(dir_)) fs::remove(fs::path(dir_) / f);
  made_dir_ = !fs::exists(dir_);
  try {
    fs::create_directories(dir_);
  } catch (const fs::filesystem_error& e) {
    throw Error("--out", "cannot create the folder " + dir_ + ": " + e.code().message());
  }
  // A run killed inside an atomic write left its temporary file ("<name>.tmp.XXXXXX"); the folder has one
  // writer, so whatever temporary is there now is such a leftover (the kill test found 39 in 100 kills).
  std::error_code ec;
  for (const std::string& f : run_files_in(dir_))
    if (f.find(".tmp.") != std::string::npos) fs::remove(fs::path(dir_) / f, ec);
  existed_ = run_files_in(dir_);
  created_ = true;
}

RunDir::~RunDir() {
  std::error_code ec;
  if (!created_ || fs::exists(file("last.safetensors"), ec) || fs::exists(file("best.safetensors"), ec)) return;
  // The run ended before its first checkpoint: remove what it wrote (and the folder if it made it).
  try {
    for (const std::string& f : run_files_in(dir_))
      if (std::find(existed_.begin(), existed_.end(), f) == existed_.end()) fs::remove(fs::path(dir_) / f, ec);
    if (made_dir_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
  } catch (...) {  // never throw from a destructor: a leftover file is the lesser harm
  }
}

bool run_finished(const std::string& dir) {
  std::error_code ec;
  const fs::path results = fs::path(dir) / "results.json", last = fs::path(dir) / "last.safetensors";
  if (!fs::exists(results, ec)) return false;
  return !fs::exists(last, ec) || fs::last_write_time(results, ec) >= fs::last_write_time(last, ec);
}

void check_budget_left(const RunOptions& o, int64_t steps, int64_t epochs, double elapsed) {
  const std::string how = " (budgets count the whole run, resumed parts included)";
  // A run stopped after its last epoch but before its final evaluation may still finish.
  const bool finished = run_finished(o.out.empty() ? o.resume : o.out);
  RC_CHECK(o.epochs == 0 || epochs < o.epochs || !finished, "--epochs", "the run has completed ", epochs, " epochs; give more than ",
           epochs, " to train on", how);
  RC_CHECK(o.max_steps == 0 || steps < o.max_steps, "--max-steps", "the run has taken ", steps,
           " steps; give more than ", steps, " (or 0: no step limit) to train on", how);
  RC_CHECK(o.time_budget == 0 || elapsed < o.time_budget, "--time-budget", "the run has already trained for ",
           format_duration(elapsed), ", all of a ", format_duration(o.time_budget), " budget; give more than ",
           format_duration(elapsed), " to train on", how);
}

void parse_save_every(const std::string& text, RunOptions& o) {
  o.save_every_steps = 0, o.save_every_seconds = 0;
  if (text == "0" || text == "off") return;
  const std::string expected = "expected a number of steps (500), a duration with its unit (90s, 10m, 1.5h) or off, got '";
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    RC_CHECK(text.size() <= 15, "--save-every", expected, text, "'");
    o.save_every_steps = std::stoll(text);
    return;
  }
  const char last = text.empty() ? '\0' : text.back();
  RC_CHECK(last == 's' || last == 'm' || last == 'h' || text.ends_with("min"), "--save-every", expected, text, "'");
  try {
    o.save_every_seconds = parse_duration(text, "--save-every");
  } catch (const Error&) {
    throw Error("--save-every", expected + text + "'");
  }
}

std::string resume_command(const std::string& task, const std::string& dir) {
  // Quoted for a POSIX shell when it holds anything but [A-Za-z0-9_./+-], so the line can be pasted.
  const bool plain = !dir.empty() && dir.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                           "0123456789_./+-") == std::string::npos;
  std::string q = "'";
  for (char ch : dir) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return "recurrent train " + task + " --resume " + (plain ? dir : q + "'");
}

}  // namespace recurrent::train
