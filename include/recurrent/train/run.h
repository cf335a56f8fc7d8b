// recurrent/train/run.h — what every training run shares, whatever its task: the run options (the
// same names and meanings in every task), its output folder, and the budgets of a resumed run.
//
// The output folder (RunDir):
//   * a new run refuses an --out folder that holds another run's files (run_files(): checkpoints,
//     metrics, results) unless --force, which removes those files first and nothing else;
//   * --resume DIR writes into DIR (an --out naming another folder is refused: copy the folder to branch);
//   * under mpirun (dist.h) only rank 0 checks for another run's files and creates the folder;
//   * create() makes the folder (and removes the temporary files that a run killed inside an atomic write
//     left); call it once every option and the data have been checked. If the run
//     then ends (error or return) before its first checkpoint (last or best.safetensors) exists, the
//     RunDir removes what create() made, so a failed start never leaves a half-made run behind.
// Budgets (check_budget_left): --epochs, --max-steps and --time-budget count the whole run, resumed
// parts included. Resuming a run whose budget is already used up is refused, naming the option, what
// the run has done and what to give instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::train {

struct RunOptions {
  std::string out;             // output folder (default: the --resume folder)
  std::string resume;          // continue the run saved in this folder (its last.safetensors)
  bool force = false;          // --out holds another run: remove its files first
  int64_t epochs = 0;          // 0: no limit (a time budget or max_steps must then be set)
  double time_budget = 0.0;    // seconds of training incl. validation, the whole run; 0: none
  int64_t max_steps = 0;       // optimisation steps, the whole run; stops like Ctrl-C; 0: none
  uint64_t seed = 1;
  bool quiet = false;          // no progress on stderr
  double log_every = 10.0;     // seconds between plain progress lines (stderr not a terminal)
  // --save-every: last.safetensors is also written mid-epoch, with the exact position (as at Ctrl-C), every
  // save_every_steps optimisation steps or save_every_seconds of training, whichever comes first; 0: never
  // (then only at epoch ends and stops). A crash loses at most that much work.
  int64_t save_every_steps = 0;
  double save_every_seconds = 600.0;
  std::string save_every_text = "10m";  // the CLI's --save-every text, read by parse_save_every
  // --search (search.h): a trial is scored on validation only (the test part is never evaluated; nothing on
  // stdout); evaluate_only (with resume) trains no further: the run's best weights are evaluated, results.json written.
  bool trial = false;
  bool evaluate_only = false;
  std::string command;         // opaque to the library: the CLI's record of the run's options (JSON),
                               // written into every checkpoint so `--resume DIR` alone can continue
};

class RunDir {
 public:
  // o.out empty → o.resume. Throws Error("--out", ...) for a missing folder name, a file in its place,
  // or another run's files without --force.
  explicit RunDir(const RunOptions& o);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return dir_; }
  std::string file(const std::string& name) const;  // path()/name
  // --force: removes the old run's files; then creates the folder (and its parents).
  void create();

  // The names a run writes into its folder (temporary files of atomic writes: "<name>.tmp.*").
  static const std::vector<std::string>& run_files();
  static bool holds_run(const std::string& dir);

 private:
  std::string dir_;
  bool force_ = false, created_ = false, made_dir_ = false;
  std::vector<std::string> existed_;  // run files present when create() ran (a resumed run's)
};

// After a resumed run's position is restored: throws Error(option, ...) when its budget is used up
// (steps ≥ --max-steps, elapsed ≥ --time-budget, or epochs done ≥ --epochs once the run has finished:
// a run stopped after its last epoch but before its final evaluation may still finish).
void check_budget_left(const RunOptions& o, int64_t steps, int64_t epochs, double elapsed);
// The run in `dir` has written its final results.json after its last checkpoint.
bool run_finished(const std::string& dir);

// --save-every's value: "0" or "off" (none), a whole number of steps ("500"), or a duration ("90s", "10m",
// "1.5h"; a unit is required, so "500" is never read as seconds). Throws Error("--save-every", ...).
void parse_save_every(const std::string& text, RunOptions& o);

// When the next periodic save is due (RunOptions::save_every_*), counted from the last save or the start.
class SaveSchedule {
 public:
  SaveSchedule(int64_t every_steps, double every_seconds, int64_t step, double elapsed)
      : steps_(every_steps), seconds_(every_seconds), step0_(step), t0_(elapsed) {}
  SaveSchedule(const RunOptions& o, int64_t step, double elapsed)
      : SaveSchedule(o.save_every_steps, o.save_every_seconds, step, elapsed) {}
  bool due(int64_t step, double elapsed) const {
    return (steps_ > 0 && step - step0_ >= steps_) || (seconds_ > 0 && elapsed - t0_ >= seconds_);
  }
  void saved(int64_t step, double elapsed) { step0_ = step, t0_ = elapsed; }

 private:
  int64_t steps_;
  double seconds_;
  int64_t step0_;
  double t0_;
};

// "recurrent train TASK --resume DIR": the command that continues a run, for the lines printed at a stop.
std::string resume_command(const std::string& task, const std::string& dir);

}  // namespace recurrent::train
