// recurrent experiment NAME — the long-range tasks of the gradient lab (issue 6, docs/gradlab.md), each
// run for every (cell, clip) pair and written up as a report folder.
//
//   recurrent experiment adding    --T 200       [--cells …] [--clip 0,1] [--steps N] [--time-budget S]
//   recurrent experiment copy      --T 100       …   (Arjovsky et al. 2016: 10 symbols of 8, T blanks, delimiter)
//   recurrent experiment agreement --distance 50 …   (subject number, D fillers, predict the verb's number)
//   recurrent experiment seqimage  --by rows|pixels --train-images F --train-labels F --test-images F
//                                  --test-labels F …   (IDX files, gzipped or not: Fashion-MNIST, MNIST, …)
// Common: --cells, --clip (comma lists; every pair is one run), --steps / --time-budget (per run), --seed,
// --out DIR, --json (one summary line per run: {"cell", "clip", "metric", "value", "steps", …}).
// DIR/report.md: the command, the setup and the table (final metric, steps to solve, gradient ratio
// ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖); DIR/*.csv (lab_common.h); DIR/training.png, DIR/gradients.png drawn by
// scripts/gradlab/plot.py (found beside the binary's source tree, or --plot-script; --no-plots skips).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/lab_common.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/idx.h"
#include "recurrent/tasks/gradlab.h"
#include "recurrent/tasks/synthetic.h"

namespace recurrent::cli {

namespace {

namespace fs = std::filesystem;

struct ExpArgs {
  std::string name, cells = "rnn_tanh,irnn,lstm,gru,gru_simple", inits = "pytorch", clips = "0,1", out;
  double rho = 0.0, forget_bias = 1.0, update_bias = 0.0, chrono = 0.0;
  bool json = false, no_plots = false;
  std::string plot_script;
  std::string by = "rows", train_images, train_labels, test_images, test_labels;
  int64_t valid = 5000, test_size = 0;
  tasks::LabConfig cfg;
  CLI::App* app = nullptr;  // for the command line in report.md
};

// The command as given (options actually set), for the report.
std::string command_line(const ExpArgs& a) {
  std::string s = "recurrent --threads " + std::to_string(num_threads()) + " experiment " + a.name;
  for (const CLI::Option* o : a.app->get_options()) {
    if (o->count() == 0 || o->get_name() == "--help") continue;
    s += " " + o->get_name();
    if (o->get_expected_min() == 0) continue;  // a flag
    for (const std::string& v : o->results()) s += " " + v;
  }
  return s;
}

std::string find_plot_script(const ExpArgs& a) {
  if (!a.plot_script.empty()) return a.plot_script;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& base : {ec ? fs::path() : exe.parent_path() / "..", fs::path(".")}) {
    const fs::path p = base / "scripts" / "gradlab" / "plot.py";
    if (!base.empty() && fs::exists(p)) return fs::weakly_canonical(p).string();
  }
  return "";
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs the plot script on the folder; returns "" or why no plots were made.
std::string make_plots(const ExpArgs& a) {
  if (a.no_plots) return "--no-plots given";
  const std::string script = find_plot_script(a);
  if (script.empty()) return "scripts/gradlab/plot.py not found (give --plot-script)";
  const std::string cmd = "/usr/bin/python3 " + quote(script) + " report " + quote(a.out) + " 1>&2";
  const int rc = std::system(cmd.c_str());
  return rc == 0 ? "" : "the plot script failed (exit " + std::to_string(rc) + "): " + cmd;
}

std::string setup_text(const ExpArgs& a, const tasks::LabConfig& cfg, const std::vector<lab::Row>& rows) {
  char b[640];
  const double base = rows.empty() ? 0.0 : rows[0].r.baseline;
  std::string task;
  switch (cfg.task) {
    case tasks::LabTask::adding:
      task = "adding problem (Le et al. 2015 form), T = " + std::to_string(cfg.T) +
             "; predicting 1 gives MSE 0.1667; solved: test MSE < 0.01";
      break;
    case tasks::LabTask::copy:
      std::snprintf(b, sizeof b, "copy task (Arjovsky et al. 2016), T = %lld blanks; memoryless baseline 10·log 8/(T+20) = "
                    "%.4f nats per step; solved: ≥ 99%% of the recalled symbols right", (long long)cfg.T, base);
      task = b;
      break;
    case tasks::LabTask::agreement:
      task = "number agreement at distance D = " + std::to_string(cfg.T) +
             " (20 filler words); chance 50%; solved: ≥ 95% accuracy";
      break;
    case tasks::LabTask::seqimage:
      std::snprintf(b, sizeof b, "sequential image classification by %s (T = %lld, input %lld): %lld training images "
                    "(the last %lld held out for the curves), test: the first %lld test images, evaluated once, at the end; "
                    "solved: ≥ 88%% held-out accuracy", a.by.c_str(), (long long)cfg.images->T(),
                    (long long)cfg.images->inputs(), (long long)(cfg.images->train.n - cfg.images->valid),
                    (long long)cfg.images->valid, (long long)cfg.images->test_size());
      task = b;
      break;
  }
  std::snprintf(b, sizeof b, "one recurrent layer, hidden %lld, batch %lld, %s lr %g, eval every %lld steps on %lld "
                "sequences, gradient probe every %lld steps, seed %llu, %d thread(s); steps ≤ %lld%s per run",
                (long long)cfg.hidden, (long long)cfg.batch, cfg.optimizer.c_str(), cfg.lr, (long long)cfg.eval_every,
                (long long)cfg.eval_size, (long long)cfg.probe_every, (unsigned long long)cfg.seed, num_threads(),
                (long long)cfg.steps,
                cfg.time_budget > 0 ? (" and " + std::to_string((long long)cfg.time_budget) + " s").c_str() : "");
  return "- task: " + task + "\n- model: " + b + "\n";
}

void write_report(const ExpArgs& a, const tasks::LabConfig& cfg, const std::vector<lab::Row>& rows,
                  const std::string& plots_note) {
  const std::string path = (fs::path(a.out) / "report.md").string();
  std::FILE* f = std::fopen(path.c_str(), "w");
  RC_CHECK(f, path, "cannot open for writing");
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::fprintf(f, "# Experiment: %s\n\n```sh\n%s\n```\n\n%s- finished: %s\n\n", a.name.c_str(),
               command_line(a).c_str(), setup_text(a, cfg, rows).c_str(), date);
  lab::print_table(f, cfg, rows, true);
  std::fprintf(f, "\n\"solved at step\" is the first evaluation meeting the criterion (evaluations every %lld steps). "
                  "The gradient ratio is from the last probe of the run; 0 means float32 underflow (below 1.4e-45).\n\n",
               (long long)cfg.eval_every);
  if (plots_note.empty())
    std::fprintf(f, "![training](training.png)\n\n![gradients](gradients.png)\n\n");
  else
    std::fprintf(f, "No plots: %s. Draw them with `/usr/bin/python3 scripts/gradlab/plot.py report %s`.\n\n",
                 plots_note.c_str(), a.out.c_str());
  std::fprintf(f, "Data: `train.csv` (every step), `gates.csv`, `dh.csv` (probed steps: gate statistics, "
                  "‖∂L/∂h_t‖ per t), `summary.csv` (one row per run).\n");
  std::fclose(f);
}

void run_experiment(ExpArgs& a) {
  tasks::LabConfig cfg = a.cfg;
  cfg.task = tasks::parse_lab_task(a.name);
  if (cfg.task == tasks::LabTask::seqimage) {
    RC_CHECK(a.by == "rows" || a.by == "pixels", "--by", "expected rows or pixels, got '", a.by, "'");
    auto im = std::make_shared<tasks::SeqImages>();
    im->train = data::read_image_set(a.train_images, a.train_labels);
    im->test = data::read_image_set(a.test_images, a.test_labels);
    im->by_pixels = a.by == "pixels";
    im->valid = a.valid;
    im->test_limit = a.test_size;
    cfg.images = im;
    cfg.T = im->T();
  }
  if (a.out.empty()) a.out = "runs/experiment/" + a.name;
  fs::create_directories(a.out);
  lab::TrainCsv csv(a.out);
  const std::vector<lab::Row> rows =
      lab::train_all(cfg, lab::models(a.cells, a.inits, a.rho, a.forget_bias, a.update_bias, a.chrono), lab::clip_values(a.clips), csv, a.json);
  const std::string note = make_plots(a);
  write_report(a, cfg, rows, note);
  if (a.json) return;
  std::printf("\n");
  lab::print_table(stdout, cfg, rows, false);
  std::printf("report: %s%s\n", (fs::path(a.out) / "report.md").c_str(), note.empty() ? "" : (" (no plots: " + note + ")").c_str());
}

void options(CLI::App* c, ExpArgs& a) {
  tasks::LabConfig& g = a.cfg;
  c->add_option("--cell,--cells", a.cells, "comma list: rnn_tanh, rnn_relu, irnn, lstm, gru, gru_cho, gru_simple, …")
      ->capture_default_str()->check(choice_list(lab::cell_names()));
  c->add_option("--clip", a.clips, "comma list of max gradient norms, each one run per cell (0: no clipping)")
      ->capture_default_str()->check(checked("nonneg-real-list"));
  c->add_option("--max-steps,--steps", g.steps, "training steps per run")->check(checked("positive"))
      ->capture_default_str();
  c->add_option("--time-budget", g.time_budget, "wall time per run: 90s, 30m, 1.5h (0: none)")
      ->transform(checked("duration"));  // to seconds: binds a double
  c->add_option("--seed", g.seed, "seed of weights and data")->capture_default_str()->check(checked("seed"));
  c->add_option("--out", a.out, "report folder (default runs/experiment/NAME)")->check(checked("text"));
  c->add_flag("--json", a.json, "one JSON summary line per run instead of the progress and table");
  c->add_option("--inits", a.inits, "comma list: pytorch, uniform, xavier, orthogonal, identity")
      ->capture_default_str()->check(choice_list({"pytorch", "uniform", "xavier", "orthogonal", "identity"}));
  c->add_option("--rho", a.rho, "rescale each W_hh gate block to this spectral radius (0: keep)")
      ->check(checked("nonneg-real"));
  c->add_option("--forget-bias", a.forget_bias, "LSTM forget-gate bias")->capture_default_str()
      ->check(checked("real"));
  c->add_option("--update-bias", a.update_bias, lab::kUpdateBiasHelp)->capture_default_str()->check(checked("real"));
  c->add_option("--chrono", a.chrono, lab::kChronoHelp)->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--hidden", g.hidden, "hidden size")->check(checked("positive"))->capture_default_str();
  c->add_option("--batch", g.batch, "sequences per batch")->check(checked("positive"))->capture_default_str();
  c->add_option("--optimizer", g.optimizer, "adam | rmsprop | sgd (momentum 0.9)")->capture_default_str()
      ->check(choice({"adam", "rmsprop", "sgd"}));
  c->add_option("--lr", g.lr, "learning rate")->check(checked("positive-real"))->capture_default_str();
  c->add_option("--eval-every", g.eval_every, "steps between evaluations")->check(checked("positive"))
      ->capture_default_str();
  c->add_option("--eval-size", g.eval_size, "evaluation sequences")->check(checked("positive"))->capture_default_str();
  c->add_option("--probe-every", g.probe_every, "steps between gradient probes")->check(checked("positive"))
      ->capture_default_str();
  c->add_flag("--stop-when-solved", g.stop_when_solved, "end each run at its first solved evaluation");
  c->add_option("--plot-script", a.plot_script, "scripts/gradlab/plot.py (default: found beside the binary)")
      ->check(checked("file"));
  c->add_flag("--no-plots", a.no_plots, "write the CSV and report.md only");
}

}  // namespace

void add_experiment(CLI::App& app) {
  CLI::App* e = app.add_subcommand("experiment", "long-range tasks: train cells with and without clipping, write a report");
  e->require_subcommand(1);
  struct Spec {
    const char* name;
    const char* help;
    int64_t T, hidden, batch, steps, eval_every, eval_size;
  };
  const Spec specs[] = {
      {"adding", "adding problem: sum of two marked values after T steps", 200, 128, 50, 2000, 100, 1000},
      {"copy", "copy task: recall 10 symbols after T blanks", 100, 128, 50, 2000, 100, 1000},
      {"agreement", "number agreement across D filler words", 50, 128, 50, 2000, 100, 1000},
      {"seqimage", "sequential image classification (IDX files) row by row or pixel by pixel", 28, 128, 100, 3000, 200, 2000},
  };
  for (const Spec& s : specs) {
    auto a = std::make_shared<ExpArgs>();
    a->name = s.name;
    tasks::LabConfig& g = a->cfg;
    g.T = s.T, g.hidden = s.hidden, g.batch = s.batch, g.steps = s.steps, g.eval_every = s.eval_every, g.eval_size = s.eval_size;
    CLI::App* c = e->add_subcommand(s.name, s.help);
    a->app = c;
    const std::string n = s.name;
    if (n == "agreement") {
      c->add_option("--distance,--T", g.T, "filler words between subject and verb")
          ->check(int_range(1, 100000))->capture_default_str();
    } else if (n == "seqimage") {
      c->add_option("--by", a->by, "rows (T = rows, input = columns) or pixels (T = rows·columns, input 1)")
          ->capture_default_str()->check(choice({"rows", "pixels"}));
      c->add_option("--train-images", a->train_images, "IDX images [n, rows, cols], gzipped or not")->required()
          ->check(checked("file"));
      c->add_option("--train-labels", a->train_labels, "IDX labels [n]")->required()->check(checked("file"));
      c->add_option("--test-images", a->test_images, "IDX test images")->required()->check(checked("file"));
      c->add_option("--test-labels", a->test_labels, "IDX test labels")->required()->check(checked("file"));
      c->add_option("--valid", a->valid, "training images held out for the curves (the last ones)")
          ->check(checked("positive"))->capture_default_str();
      c->add_option("--test-size", a->test_size, "evaluate only the first N test images (0: all)")
          ->check(checked("count"));
    } else {
      c->add_option("--T", g.T, n == "adding" ? "sequence length" : "blanks between the symbols and the delimiter")
          ->check(int_range(2, 100000))->capture_default_str();
    }
    options(c, *a);
    c->callback([a] { run_experiment(*a); });
  }
}

}  // namespace recurrent::cli
