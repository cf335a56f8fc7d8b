// recurrent gradlab esn — the gradient lab's long-range tasks with an echo state network: the "no BPTT"
// remedy beside clipping (gradlab train --clip) and gating (--cell lstm|gru). Nothing is trained by
// gradient; one ridge solve fits the readout (tasks/esn.h, docs/esn.md, docs/gradlab.md).
//
//   recurrent gradlab esn --task adding|agreement --T 200 [--reservoir 500] [--spectral-radius 0.9]
//     [--leak 0.3] [--input-scale 1] [--density 0.1] [--ridge 1e-6] [--train-size 2000] [--eval-size 1000] [--seed 1]
//     [--pool mean-last|last] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/tasks/esn.h"

namespace recurrent::cli {

void add_gradlab_esn(CLI::App& app) {
  CLI::App* g = app.get_subcommand("gradlab");  // registered by add_gradlab (cmd_gradlab.cpp)
  auto c = std::make_shared<tasks::EsnLabConfig>();
  auto json = std::make_shared<bool>(false);
  auto pool = std::make_shared<std::string>("mean-last");
  tasks::EsnConfig& e = c->esn;
  CLI::App* s = g->add_subcommand("esn", "an echo state network on a long-range task: fixed reservoir, ridge readout, "
                                  "no backpropagation through time");
  s->add_option("--task", c->task, "adding | agreement")->capture_default_str()->check(choice({"adding", "agreement"}));
  s->add_option("--T", c->T, "delay (adding: sequence length; agreement: distance D)")->capture_default_str()
      ->check(int_range(2, 100000));
  s->add_option("--reservoir", e.reservoir, "reservoir units N")->capture_default_str()->check(checked("positive"));
  s->add_option("--spectral-radius", e.spectral_radius, "largest |eigenvalue| of the reservoir matrix")
      ->capture_default_str()->check(checked("positive-real"));
  s->add_option("--leak", e.leak, "leaking rate in (0, 1]")->capture_default_str()->check(checked("probability"));
  s->add_option("--input-scale", e.input_scale, "input and bias weights U(-s, s)")->capture_default_str()
      ->check(checked("positive-real"));
  s->add_option("--density", e.density, "fraction of non-zero reservoir weights")->capture_default_str()
      ->check(checked("probability"));
  s->add_option("--ridge", e.ridge, "ridge regularisation of the readout")->capture_default_str()
      ->check(checked("nonneg-real"));
  s->add_option("--train-size", c->train, "training sequences (one ridge solve)")->capture_default_str()
      ->check(checked("positive"));
  s->add_option("--eval-size", c->test, "test sequences")->capture_default_str()->check(checked("positive"));
  s->add_option("--seed", c->seed, "seed of the reservoir and the data")->capture_default_str()->check(checked("seed"));
  s->add_option("--pool", *pool, "readout features: mean-last ([1; mean of the states; last state]) or last ([1; "
                "last state], what an RNN's head reads)")->capture_default_str()->check(choice({"mean-last", "last"}));
  s->add_flag("--json", *json, "one JSON line");
  s->callback([c, json, pool] {
    c->esn.last_only = *pool == "last";
    const tasks::EsnLabResult r = tasks::esn_lab(*c);
    const bool adding = c->task == "adding";
    if (*json) {
      nlohmann::json j = {{"task", c->task}, {"T", c->T}, {"reservoir", c->esn.reservoir}, {"pool", *pool},
                          {adding ? "test_mse" : "test_accuracy", r.test_metric},
                          {adding ? "train_mse" : "train_accuracy", r.train_metric}, {"baseline", r.baseline},
                          {"solved", r.solved}, {"seconds", r.seconds}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("esn %s T=%lld, %lld units, %s: test %s %.4g (train %.4g; baseline %.4g), %s, %.1f s\n", c->task.c_str(),
                  static_cast<long long>(c->T), static_cast<long long>(c->esn.reservoir), pool->c_str(), adding ? "MSE" : "accuracy",
                  r.test_metric, r.train_metric, r.baseline, r.solved ? "solved" : "not solved", r.seconds);
    }
  });
}

}  // namespace recurrent::cli
