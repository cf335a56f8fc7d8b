// recurrent gradlab transformer — a causal transformer on the gradient lab's long-range tasks, beside
// the RNN runs of `recurrent gradlab train` (tasks/lab_transformer.h, docs/gradlab.md).
//
//   recurrent gradlab transformer --task adding|copy|agreement --T 200 [--layers 2 --d-model 32
//       --heads 4 --ff 64 --pos sinusoidal|learned] [--steps N] [--time-budget S] [--lr 1e-3 --clip 1
//       --warmup 100] [--stop-when-solved] [--out DIR] [--json]
// --out DIR writes train.csv (step,seconds,loss,grad_norm,test_metric,test_accuracy) and summary.csv
// with the columns of gradlab train's summary.csv (model "transformer", ratio empty).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/lab_transformer.h"
#include "recurrent/tasks/lm_transformer.h"

namespace recurrent::cli {

namespace {

struct Args {
  tasks::LabTransformerConfig cfg;
  std::string pos = "sinusoidal", out;
  bool json = false;
};

std::ofstream open_csv(const std::string& dir, const std::string& name, const std::string& header) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::ofstream f(path);
  RC_CHECK(f.good(), path, "cannot open for writing");
  f << header << "\n";
  return f;
}

void run(Args& a) {
  tasks::LabTransformerConfig& c = a.cfg;
  c.pos = tasks::parse_positional(a.pos);
  std::ofstream train, summary;
  if (!a.out.empty()) {
    train = open_csv(a.out, "train.csv", "model,step,seconds,loss,grad_norm,test_metric,test_accuracy");
    summary = open_csv(a.out, "summary.csv",
                       "task,T,model,clip,metric,baseline,final,accuracy,steps,steps_to_solve,ratio,diverged,seconds");
  }
  auto on_record = [&](const tasks::LabTransformerRecord& r) {
    if (train.is_open())
      train << "transformer," << r.step << "," << r.seconds << "," << r.loss << "," << r.grad_norm << ","
            << r.test_metric << "," << r.test_accuracy << "\n" << std::flush;
    if (a.json || r.test_metric < 0) return;
    std::printf("  transformer  step %6lld  %6.0f s  loss %.4f  test %.4f", static_cast<long long>(r.step), r.seconds,
                r.loss, r.test_metric);
    if (r.test_accuracy >= 0) std::printf("  acc %.3f", r.test_accuracy);
    std::printf("  |g| %.3g\n", r.grad_norm);
    std::fflush(stdout);
  };
  const tasks::LabTransformerResult r = tasks::run_lab_transformer(c, on_record);
  if (summary.is_open())
    summary << c.task << "," << c.T << ",transformer," << c.clip << "," << r.metric << "," << r.baseline << ","
            << r.final_metric << "," << r.final_accuracy << "," << r.steps_done << "," << r.steps_to_solve << ",,"
            << (r.diverged ? r.diverged_what : "") << "," << r.seconds << "\n";
  if (a.json) {
    nlohmann::json j{{"cell", "transformer"}, {"clip", c.clip},         {"metric", r.metric},
                     {"value", r.final_metric}, {"accuracy", r.final_accuracy}, {"baseline", r.baseline},
                     {"steps", r.steps_done}, {"steps_to_solve", r.steps_to_solve}, {"parameters", r.parameters},
                     {"diverged", r.diverged}, {"seconds", r.seconds}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("\n%s, T = %lld, transformer %lld×%lld (%lld heads, ff %lld, %s positions), %lld parameters, batch %lld, "
              "adam lr %g, warm-up %lld, clip %g (baseline %s = %.4f)\n",
              c.task.c_str(), static_cast<long long>(c.T), static_cast<long long>(c.layers),
              static_cast<long long>(c.d_model), static_cast<long long>(c.heads), static_cast<long long>(c.ff),
              a.pos.c_str(), static_cast<long long>(r.parameters), static_cast<long long>(c.batch), c.lr,
              static_cast<long long>(c.warmup), c.clip, r.metric.c_str(), r.baseline);
  std::printf("final test %s %.4g", r.metric.c_str(), r.final_metric);
  if (r.final_accuracy >= 0) std::printf(", accuracy %.3f", r.final_accuracy);
  std::printf(", %lld steps, %.0f s, solved at %s%s%s\n", static_cast<long long>(r.steps_done), r.seconds,
              r.steps_to_solve < 0 ? "-" : std::to_string(r.steps_to_solve).c_str(), r.diverged ? ", DIVERGED: " : "",
              r.diverged_what.c_str());
}

}  // namespace

void add_gradlab_transformer(CLI::App& app) {
  CLI::App* g = app.get_subcommand("gradlab");  // registered by add_gradlab (cmd_gradlab.cpp)
  auto a = std::make_shared<Args>();
  CLI::App* c = g->add_subcommand("transformer", "train a causal transformer on a long-range task (beside the RNNs)");
  c->add_option("--task", a->cfg.task, "adding | copy | agreement")->capture_default_str()->check(choice({"adding", "copy", "agreement"}));
  c->add_option("--T", a->cfg.T, "delay (adding: sequence length; copy: blanks; agreement: distance D)")
      ->capture_default_str()->check(int_range(2, 100000));
  c->add_option("--layers", a->cfg.layers, "encoder layers (causal)")->capture_default_str()->check(checked("positive"));
  c->add_option("--d-model", a->cfg.d_model, "model width (a multiple of --heads)")->capture_default_str()->check(checked("positive"));
  c->add_option("--heads", a->cfg.heads, "attention heads")->capture_default_str()->check(checked("positive"));
  c->add_option("--ff", a->cfg.ff, "feed-forward width")->capture_default_str()->check(checked("positive"));
  c->add_option("--pos", a->pos, "positions: sinusoidal or learned")->capture_default_str()->check(choice({"sinusoidal", "learned"}));
  c->add_option("--batch", a->cfg.batch, "sequences per batch")->capture_default_str()->check(checked("positive"));
  c->add_option("--max-steps,--steps", a->cfg.steps, "training steps")->capture_default_str()->check(checked("positive"));
  c->add_option("--time-budget", a->cfg.time_budget, "wall time: 90s, 30m, 1.5h (0: none)")->transform(checked("duration"));  // to seconds: binds a double
  c->add_option("--lr", a->cfg.lr, "Adam learning rate")->capture_default_str()->check(checked("positive-real"));
  c->add_option("--clip", a->cfg.clip, "max gradient norm (0: no clipping)")
      ->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--warmup", a->cfg.warmup, "steps of linear lr warm-up")->capture_default_str()->check(checked("count"));
  c->add_option("--seed", a->cfg.seed, "seed of weights and data")->capture_default_str()->check(checked("seed"));
  c->add_option("--eval-every", a->cfg.eval_every, "steps between test evaluations")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--eval-size", a->cfg.eval_size, "test sequences")->capture_default_str()->check(checked("positive"));
  c->add_flag("--stop-when-solved", a->cfg.stop_when_solved, "end at the first solved evaluation");
  c->add_option("--out", a->out, "directory for train.csv and summary.csv")->check(checked("text"));
  c->add_flag("--json", a->json, "one JSON summary line (the fields of gradlab train --json)");
  c->callback([a] { run(*a); });
}

}  // namespace recurrent::cli
