// recurrent gradlab — the gradient lab (docs/gradlab.md): see and measure vanishing and exploding
// gradients on the synthetic long-range tasks, and what LSTM, GRU, initialisation and clipping do.
//
//   recurrent gradlab profile --task adding --T 200 --cells rnn_tanh,lstm,gru [--inits pytorch,orthogonal]
//       [--rho 0] [--batches 4] [--out DIR] [--json]
//     gradient norm ‖∂L/∂h_t‖ against distance back at initialisation, W_hh spectra, Jacobian products.
//   recurrent gradlab train --task adding|copy|agreement --T 200 --cells rnn_tanh,irnn,lstm,gru,gru_simple
//       [--clip 0,1] [--steps N] [--time-budget S] [--out DIR] [--json]
//     trains every (cell, init, clip) combination; table of final metric, steps to solve, gradient ratio.
// --out DIR writes CSV files (profile.csv, jacobian.csv; train.csv, gates.csv, dh.csv, summary.csv) for
// scripts/gradlab/plot.py. --json prints one summary line per run instead of the table.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/gradlab.h"

namespace recurrent::cli {

namespace {

struct LabArgs {
  std::string task = "adding", cells = "rnn_tanh,lstm,gru", inits = "pytorch", clips = "0", out;
  double rho = 0.0, forget_bias = 1.0;
  int64_t batches = 4;
  bool json = false, no_jacobian = false;
  tasks::LabConfig cfg;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<tasks::LabModel> models(const LabArgs& a) {
  std::vector<tasks::LabModel> m;
  for (const std::string& cell : split_list(a.cells))
    for (const std::string& init : split_list(a.inits)) {
      if (cell == "irnn" && init != split_list(a.inits).front()) continue;  // irnn fixes its own init
      m.push_back(tasks::lab_model(cell, init, a.rho, a.forget_bias));
    }
  RC_CHECK(!m.empty(), "--cells", "expected at least one cell");
  return m;
}

std::vector<double> clip_values(const std::string& s) {
  std::vector<double> v;
  for (const std::string& item : split_list(s)) {
    char* end = nullptr;
    double c = std::strtod(item.c_str(), &end);
    RC_CHECK(end && *end == '\0' && c >= 0.0 && std::isfinite(c), "--clip", "expected non-negative numbers, got '",
             item, "'");
    v.push_back(c);
  }
  RC_CHECK(!v.empty(), "--clip", "expected at least one value (0: no clipping)");
  return v;
}

std::ofstream open_csv(const std::string& dir, const std::string& name, const std::string& header) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::ofstream f(path);
  RC_CHECK(f.good(), path, "cannot open for writing");
  f << header << "\n";
  return f;
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
    prof = open_csv(a.out, "profile.csv", "model,t,distance,dh_norm,dh_rel");
    jac = open_csv(a.out, "jacobian.csv", "model,t,step_norm,log_product");
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

struct TrainCsv {
  std::ofstream train, gates, dh, summary;
  explicit TrainCsv(const std::string& dir) {
    if (dir.empty()) return;
    train = open_csv(dir, "train.csv", "model,clip,step,seconds,loss,grad_norm,clipped_norm,test_metric,test_accuracy,ratio,h_norm,c_norm");
    gates = open_csv(dir, "gates.csv", "model,clip,step,gate,mean,saturated");
    dh = open_csv(dir, "dh.csv", "model,clip,step,t,distance,dh_norm");
    summary = open_csv(dir, "summary.csv", "task,T,model,clip,metric,baseline,final,accuracy,steps,steps_to_solve,ratio,diverged,seconds");
  }
  void record(const std::string& model, double clip, const tasks::LabRecord& r) {
    if (!train.is_open()) return;
    train << model << "," << clip << "," << r.step << "," << r.seconds << "," << r.loss << "," << r.grad_norm << ","
          << r.clipped_norm << "," << r.test_metric << "," << r.test_accuracy << "," << (r.probed ? r.ratio : -1.0)
          << "," << r.h_norm << "," << r.c_norm << "\n";
    if (!r.probed) return;
    for (size_t g = 0; g < r.gates.size(); ++g)
      gates << model << "," << clip << "," << r.step << "," << r.gates[g] << "," << r.gate_mean[g] << ","
            << r.gate_saturated[g] << "\n";
    const int64_t Tp = static_cast<int64_t>(r.dh_norm.size());
    for (int64_t t = 0; t < Tp; ++t)
      dh << model << "," << clip << "," << r.step << "," << t << "," << Tp - 1 - t << "," << r.dh_norm[t] << "\n";
    train.flush(), gates.flush(), dh.flush();  // long runs: partial results readable (and plottable) as they come
  }
};

void print_progress(const std::string& model, double clip, const tasks::LabRecord& r) {
  if (r.test_metric < 0) return;
  std::printf("  %-28s clip %-4g step %6lld  %6.0f s  loss %.4f  test %.4f", model.c_str(), clip, (long long)r.step,
              r.seconds, r.loss, r.test_metric);
  if (r.test_accuracy >= 0) std::printf("  acc %.3f", r.test_accuracy);
  std::printf("  |g| %.3g\n", r.grad_norm);
  std::fflush(stdout);
}

void run_train(const LabArgs& a) {
  tasks::LabConfig cfg = a.cfg;
  cfg.task = tasks::parse_lab_task(a.task);
  TrainCsv csv(a.out);
  struct Row {
    std::string model;
    double clip;
    tasks::LabResult r;
  };
  std::vector<Row> rows;
  for (const tasks::LabModel& m : models(a))
    for (double clip : clip_values(a.clips)) {
      cfg.clip = clip;
      auto on_record = [&](const tasks::LabRecord& r) {
        csv.record(m.label, clip, r);
        if (!a.json) print_progress(m.label, clip, r);
      };
      tasks::LabResult r = tasks::run_lab(cfg, m, on_record);
      if (csv.summary.is_open())
        csv.summary << a.task << "," << cfg.T << "," << m.label << "," << clip << "," << r.metric << "," << r.baseline
                    << "," << r.final_metric << "," << r.final_accuracy << "," << r.steps_done << ","
                    << r.steps_to_solve << "," << r.ratio << "," << (r.diverged ? r.diverged_what : "") << ","
                    << r.seconds << "\n";
      if (a.json) {
        nlohmann::json j{{"cell", m.label}, {"clip", clip}, {"metric", r.metric}, {"value", r.final_metric},
                         {"accuracy", r.final_accuracy}, {"baseline", r.baseline}, {"steps", r.steps_done},
                         {"steps_to_solve", r.steps_to_solve}, {"grad_ratio", r.ratio}, {"diverged", r.diverged},
                         {"seconds", r.seconds}};
        std::printf("%s\n", j.dump().c_str());
        std::fflush(stdout);
      } else if (r.diverged) {
        std::printf("  %-28s clip %-4g DIVERGED: %s\n", m.label.c_str(), clip, r.diverged_what.c_str());
      }
      rows.push_back({m.label, clip, std::move(r)});
    }
  if (a.json) return;
  std::printf("\n%s, T = %lld, hidden %lld, batch %lld, %s lr %g (baseline %s = %.4f)\n", a.task.c_str(),
              (long long)cfg.T, (long long)cfg.hidden, (long long)cfg.batch, cfg.optimizer.c_str(), cfg.lr,
              rows.empty() ? "" : rows[0].r.metric.c_str(), rows.empty() ? 0.0 : rows[0].r.baseline);
  std::printf("%-28s %5s %10s %9s %7s %8s %14s %s\n", "model", "clip", "test", "accuracy", "steps", "solved@",
              "|dh_1|/|dh_T|", "note");
  auto fmt = [](double v, const char* f) {
    char b[32] = "-";
    if (v >= 0) std::snprintf(b, sizeof b, f, v);
    return std::string(b);
  };
  for (const Row& w : rows)
    std::printf("%-28s %5g %10s %9s %7lld %8s %14.3e %s\n", w.model.c_str(), w.clip,
                fmt(w.r.final_metric, "%.4g").c_str(), fmt(w.r.final_accuracy, "%.3f").c_str(),
                (long long)w.r.steps_done, w.r.steps_to_solve < 0 ? "-" : std::to_string(w.r.steps_to_solve).c_str(),
                w.r.ratio, w.r.diverged ? w.r.diverged_what.c_str() : "");
}

void common_options(CLI::App* c, LabArgs& a) {
  c->add_option("--task", a.task, "adding | copy | agreement");
  c->add_option("--T", a.cfg.T, "delay (adding: sequence length; copy: blanks; agreement: distance D)")
      ->check(CLI::Range(int64_t{2}, int64_t{100000}));
  c->add_option("--cells", a.cells, "comma list: rnn_tanh, rnn_relu, irnn, lstm, gru, gru_cho, gru_simple, …");
  c->add_option("--inits", a.inits, "comma list: pytorch, uniform, xavier, orthogonal, identity");
  c->add_option("--rho", a.rho, "rescale each W_hh gate block to this spectral radius (0: keep the init's)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--forget-bias", a.forget_bias, "LSTM forget-gate bias (Jozefowicz et al. 2015)");
  c->add_option("--hidden", a.cfg.hidden, "hidden size")->check(CLI::PositiveNumber);
  c->add_option("--batch", a.cfg.batch, "sequences per batch")->check(CLI::PositiveNumber);
  c->add_option("--seed", a.cfg.seed, "seed of weights and data");
  c->add_option("--out", a.out, "directory for the CSV files");
  c->add_flag("--json", a.json, "one JSON summary line per run instead of the table");
}

}  // namespace

void add_gradlab(CLI::App& app) {
  CLI::App* g = app.add_subcommand("gradlab", "gradient lab: vanishing/exploding gradients on long-range tasks");
  g->require_subcommand(1);
  auto pa = std::make_shared<LabArgs>();
  CLI::App* p = g->add_subcommand("profile", "gradient norm against distance back in time, at initialisation");
  common_options(p, *pa);
  p->add_option("--batches", pa->batches, "batches averaged")->check(CLI::PositiveNumber);
  p->add_flag("--no-jacobian", pa->no_jacobian, "skip the per-step Jacobians (O(T·S³))");
  p->callback([pa] { run_profile(*pa); });

  auto ta = std::make_shared<LabArgs>();
  CLI::App* t = g->add_subcommand("train", "train each cell on a long-range task, with and without clipping");
  common_options(t, *ta);
  t->add_option("--clip", ta->clips, "comma list of max gradient norms (0: no clipping)");
  t->add_option("--steps", ta->cfg.steps, "training steps per run")->check(CLI::PositiveNumber);
  t->add_option("--time-budget", ta->cfg.time_budget, "seconds per run (0: none)")->check(CLI::NonNegativeNumber);
  t->add_option("--optimizer", ta->cfg.optimizer, "adam | rmsprop | sgd (momentum 0.9)");
  t->add_option("--lr", ta->cfg.lr, "learning rate")->check(CLI::PositiveNumber);
  t->add_option("--eval-every", ta->cfg.eval_every, "steps between test evaluations")->check(CLI::PositiveNumber);
  t->add_option("--eval-size", ta->cfg.eval_size, "test sequences")->check(CLI::PositiveNumber);
  t->add_option("--probe-every", ta->cfg.probe_every, "steps between gradient probes")->check(CLI::PositiveNumber);
  t->add_flag("--stop-when-solved", ta->cfg.stop_when_solved, "end each run at its first solved evaluation");
  t->callback([ta] { run_train(*ta); });
}

}  // namespace recurrent::cli
