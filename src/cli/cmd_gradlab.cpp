// recurrent gradlab — the gradient lab (docs/gradlab.md): see and measure vanishing and exploding
// gradients on the synthetic long-range tasks, and what LSTM, GRU, initialisation and clipping do.
//
//   recurrent gradlab profile --task adding --T 200 --cells rnn_tanh,lstm,gru [--inits pytorch,orthogonal]
//       [--rho 0] [--batches 4] [--out DIR] [--json]
//     gradient norm ‖∂L/∂h_t‖ against distance back at initialisation, W_hh spectra, Jacobian products.
//   recurrent gradlab train --task adding|copy|agreement --T 200 --cells rnn_tanh,irnn,lstm,gru,gru_simple
//       [--clip 0,1] [--steps N] [--time-budget S] [--out DIR] [--json]
//     trains every (cell, init, clip) combination; table of final metric, steps to solve, gradient ratio.
// `recurrent experiment NAME` (cmd_experiment.cpp) runs the same training with a report folder.
// --out DIR writes CSV files (profile.csv, jacobian.csv; train.csv, gates.csv, dh.csv, summary.csv) for
// scripts/gradlab/plot.py. --json prints one summary line per run instead of the table.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/lab_common.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/gradlab.h"

namespace recurrent::cli {

namespace {

struct LabArgs {
  std::string task = "adding", cells = "rnn_tanh,lstm,gru", inits = "pytorch", clips = "0", out;
  double rho = 0.0, forget_bias = 1.0, update_bias = 0.0, chrono = 0.0;
  int64_t batches = 4;
  bool json = false, no_jacobian = false;
  tasks::LabConfig cfg;
};

std::vector<tasks::LabModel> models(const LabArgs& a) { return lab::models(a.cells, a.inits, a.rho, a.forget_bias, a.update_bias, a.chrono);
}

double max_of(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, x);
  return m;
}

void run_profile(const LabArgs& a) {
  tasks::LabConfig cfg = a.cfg;
  cfg.task = tasks::parse_lab_task(a.task);
  std::ofstream prof, jac;
  if (!a.out.empty()) {
    prof = lab::open_csv(a.out, "profile.csv", "model,t,distance,dh_norm,dh_rel");
    jac = lab::open_csv(a.out, "jacobian.csv", "model,t,step_norm,log_product");
  }
  if (!a.json)
    std::printf("gradient flow at initialisation: task %s, T %lld, hidden %lld, %lld batches of %lld\n"
                "%-24s %9s %9s %9s %11s %11s %14s\n",
                a.task.c_str(), (long long)cfg.T, (long long)cfg.hidden, (long long)a.batches, (long long)cfg.batch,
                "model", "rho(Whh)", "|Whh|2", "mean|J|", "e^Jrate", "e^decay", "|dh_1|/|dh_T|");
  for (const tasks::LabModel& m : models(a)) {
    tasks::LabProfile p = tasks::profile_lab(cfg, m, a.batches, !a.no_jacobian);
    const int64_t Tp = static_cast<int64_t>(p.dh_norm.size());
    const double last = p.dh_norm.back(), ratio = last > 0 ? p.dh_norm.front() / last : 0.0;
    double mean_j = 0.0;
    for (double v : p.jacobian.step_norm) mean_j += v / static_cast<double>(p.jacobian.step_norm.size());
    for (int64_t t = 0; t < Tp; ++t)
      if (prof.is_open()) prof << m.label << "," << t << "," << Tp - 1 - t << "," << p.dh_norm[t] << "," << p.dh_norm[t] / last << "\n";
    for (size_t t = 0; t < p.jacobian.step_norm.size(); ++t)
      if (jac.is_open()) jac << m.label << "," << t << "," << p.jacobian.step_norm[t] << "," << p.jacobian.log_product[t] << "\n";
    if (a.json) {
      nlohmann::json j{{"cell", m.label}, {"metric", "grad_ratio"}, {"value", ratio}, {"rho", max_of(p.block_rho)},
                       {"norm", max_of(p.block_norm)}, {"decay_per_step", std::exp(p.decay_rate)},
                       {"jacobian_rate", std::exp(p.jacobian.rate())}, {"steps", 0}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      char mj[16] = "-", jr[16] = "-";
      if (!a.no_jacobian) std::snprintf(mj, sizeof mj, "%.4f", mean_j), std::snprintf(jr, sizeof jr, "%.4f", std::exp(p.jacobian.rate()));
      std::printf("%-24s %9.4f %9.4f %9s %11s %11.4f %14.3e\n", m.label.c_str(), max_of(p.block_rho),
                  max_of(p.block_norm), mj, jr, std::exp(p.decay_rate), ratio);
    }
    std::fflush(stdout);
  }
}

void run_train(const LabArgs& a) {
  tasks::LabConfig cfg = a.cfg;
  cfg.task = tasks::parse_lab_task(a.task);
  RC_CHECK(cfg.task != tasks::LabTask::seqimage, "--task", "seqimage needs image files: use `recurrent experiment seqimage`");
  lab::TrainCsv csv(a.out);
  const std::vector<lab::Row> rows = lab::train_all(cfg, models(a), lab::clip_values(a.clips), csv, a.json);
  if (a.json) return;
  std::printf("\n%s, T = %lld, hidden %lld, batch %lld, %s lr %g (baseline %s = %.4f)\n", a.task.c_str(),
              (long long)cfg.T, (long long)cfg.hidden, (long long)cfg.batch, cfg.optimizer.c_str(), cfg.lr,
              rows.empty() ? "" : rows[0].r.metric.c_str(), rows.empty() ? 0.0 : rows[0].r.baseline);
  lab::print_table(stdout, cfg, rows, false);
}

void common_options(CLI::App* c, LabArgs& a) {
  c->add_option("--task", a.task, "adding | copy | agreement")->check(choice({"adding", "copy", "agreement"}));
  c->add_option("--T", a.cfg.T, "delay (adding: sequence length; copy: blanks; agreement: distance D)")
      ->check(int_range(2, 100000));
  c->add_option("--cell,--cells", a.cells, "comma list: rnn_tanh, rnn_relu, irnn, lstm, gru, gru_cho, gru_simple, …")
      ->check(choice_list(lab::cell_names()));
  c->add_option("--inits", a.inits, "comma list: pytorch, uniform, xavier, orthogonal, identity")
      ->check(choice_list({"pytorch", "uniform", "xavier", "orthogonal", "identity"}));
  c->add_option("--rho", a.rho, "rescale each W_hh gate block to this spectral radius (0: keep the init's)")
      ->check(checked("nonneg-real"));
  c->add_option("--forget-bias", a.forget_bias, "LSTM forget-gate bias (Jozefowicz et al. 2015)")
      ->check(checked("real"));
  c->add_option("--update-bias", a.update_bias, lab::kUpdateBiasHelp)->check(checked("real"));
  c->add_option("--chrono", a.chrono, lab::kChronoHelp)->check(checked("nonneg-real"));
  c->add_option("--hidden", a.cfg.hidden, "hidden size")->check(checked("positive"));
  c->add_option("--batch", a.cfg.batch, "sequences per batch")->check(checked("positive"));
  c->add_option("--seed", a.cfg.seed, "seed of weights and data")->check(checked("seed"));
  c->add_option("--out", a.out, "directory for the CSV files")->check(checked("text"));
  c->add_flag("--json", a.json, "one JSON summary line per run instead of the table");
}

}  // namespace

void add_gradlab(CLI::App& app) {
  CLI::App* g = app.add_subcommand("gradlab", "gradient lab: vanishing/exploding gradients on long-range tasks");
  g->require_subcommand(1);
  auto pa = std::make_shared<LabArgs>();
  CLI::App* p = g->add_subcommand("profile", "gradient norm against distance back in time, at initialisation");
  common_options(p, *pa);
  p->add_option("--batches", pa->batches, "batches averaged")->check(checked("positive"));
  p->add_flag("--no-jacobian", pa->no_jacobian, "skip the per-step Jacobians (O(T·S³))");
  p->callback([pa] { run_profile(*pa); });

  auto ta = std::make_shared<LabArgs>();
  CLI::App* t = g->add_subcommand("train", "train each cell on a long-range task, with and without clipping");
  common_options(t, *ta);
  t->add_option("--clip", ta->clips, "comma list of max gradient norms (0: no clipping)")
      ->check(checked("nonneg-real-list"));
  t->add_option("--max-steps,--steps", ta->cfg.steps, "training steps per run")->check(checked("positive"));
  t->add_option("--time-budget", ta->cfg.time_budget, "wall time per run: 90s, 30m, 1.5h (0: none)")
      ->transform(checked("duration"));  // to seconds: binds a double
  t->add_option("--optimizer", ta->cfg.optimizer, "adam | rmsprop | sgd (momentum 0.9)")
      ->check(choice({"adam", "rmsprop", "sgd"}));
  t->add_option("--lr", ta->cfg.lr, "learning rate")->check(checked("positive-real"));
  t->add_option("--eval-every", ta->cfg.eval_every, "steps between test evaluations")->check(checked("positive"));
  t->add_option("--eval-size", ta->cfg.eval_size, "test sequences")->check(checked("positive"));
  t->add_option("--probe-every", ta->cfg.probe_every, "steps between gradient probes")->check(checked("positive"));
  t->add_flag("--stop-when-solved", ta->cfg.stop_when_solved, "end each run at its first solved evaluation");
  t->callback([ta] { run_train(*ta); });
}

}  // namespace recurrent::cli
