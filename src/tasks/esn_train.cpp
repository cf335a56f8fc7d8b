// `recurrent train esn`: read the series, fit the normalisation on the training part, draw the reservoir
// (--seed), run it teacher-forced over the whole series, solve the readout on the training part (rows
// after the washout), evaluate the validation and test parts (one-step and free-run), save
// DIR/last.safetensors (atomic, train/checkpoint.h) and DIR/results.json. There is no epoch loop: the
// fit is one linear solve, so the shared run options are the folder, seed and quiet ones (RunDir).
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/dist.h"
#include "tasks/forecast_json.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;

json esn_eval_json(const EsnEval& e, int64_t H) {
  json j = {{"part", part_name(e.part)}, {"one_step", detail::forecast_eval_json(e.one_step)}, {"nmse_one_step", e.nmse_one_step},
            {"nrmse_horizon", e.nrmse_horizon}, {"horizon", H}};
  if (H > 1) j["free_run"] = detail::forecast_eval_json(e.free_run);
  return j;
}

void print_eval(const EsnEval& e, int64_t H) {
  std::printf("%s: one-step MAE %.4g  RMSE %.4g  MASE %.3f  NMSE %.3g  (naive MASE %.3f, seasonal naive %.3f; %lld steps)\n",
              part_name(e.part), e.one_step.model.mae, e.one_step.model.rmse, e.one_step.mase, e.nmse_one_step,
              e.one_step.naive_mase, e.one_step.seasonal_naive_mase, static_cast<long long>(e.one_step.windows));
  if (H > 1)
    std::printf("%s: free run %lld steps: MAE %.4g  RMSE %.4g  MASE %.3f  NRMSE at step %lld %.3g  (naive MASE %.3f; %lld origins)\n",
                part_name(e.part), static_cast<long long>(H), e.free_run.model.mae, e.free_run.model.rmse, e.free_run.mase,
                static_cast<long long>(H), e.nrmse_horizon, e.free_run.naive_mase, static_cast<long long>(e.free_run.windows));
}

}  // namespace

std::string train_esn(const EsnTrainOptions& o) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  RC_CHECK(o.resume.empty(), "--resume", "an echo state network is fitted in one solve: there is nothing to resume");
  RC_CHECK(train::world_size() == 1, "mpirun", "an echo state network is fitted in one solve, in one process: run "
           "train esn without mpirun (data-parallel training is for the gradient-trained tasks)");
  if (o.cfg.classify()) return train_esn_classifier(o);
  RC_CHECK(!o.cfg.column.empty(), "--column", "the column to predict is required (or give --mode classify)");
  train::RunOptions ro = o;
  train::RunDir dir(ro);  // refuses another run's folder before any work
  EsnConfig cfg = o.cfg;
  cfg.features = detail::split_commas(o.features);
  cfg.seed = o.seed;
  cfg.inputs = static_cast<int64_t>(cfg.features.size()) + (cfg.target_input ? 1 : 0);
  cfg.outputs = 1;
  cfg.validate();
  EsnSeries d = load_esn_series(o.data, cfg);
  cfg.season = o.season > 0 ? o.season : series_shape(d.filled[0], d.split.train_end).season;
  fit_esn_normalisation(cfg, d);
  Rng rng(o.seed);
  EchoStateNetwork m(cfg, rng);
  const std::vector<double> u = esn_inputs(cfg, d), z = esn_targets(cfg, d);
  const int64_t n = d.series.rows(), T = d.split.train_end - 1;  // fitted rows t: target y_{t+1} in training
  const std::vector<double> states = m.run(u, n);
  const double train_mse = m.fit({u.begin(), u.begin() + T * cfg.inputs},
                                 {states.begin(), states.begin() + T * cfg.reservoir}, {z.begin(), z.begin() + T}, T);
  const double fit_s = std::chrono::duration<double>(clock::now() - t0).count();
  dir.create();
  train::CheckpointData cd;
  cd.config_json = m.config().to_json();
  cd.command_json = o.command;
  train::save_checkpoint(dir.file("last.safetensors"), m, nullptr, cd);
  const EsnEval v = evaluate_esn(m, d, Part::valid), t = evaluate_esn(m, d, Part::test);
  const SeriesSplit& s = d.split;
  json r = {{"task", "esn"},
            {"rows", s.n},
            {"split", {s.train_end, s.valid_end - s.train_end, s.n - s.valid_end}},
            {"fitted_steps", T - cfg.washout},
            {"train_mse_normalised", train_mse},
            {"reservoir", cfg.reservoir},
            {"season", cfg.season},
            {"fit_seconds", fit_s},
            {"seconds", std::chrono::duration<double>(clock::now() - t0).count()},
            {"valid", esn_eval_json(v, cfg.horizon)},
            {"test", esn_eval_json(t, cfg.horizon)}};
  if (!o.quiet)
    std::fprintf(stderr, "esn: '%s', %lld rows → train %lld / valid %lld / test %lld; reservoir %lld (density %g, "
                 "spectral radius %g, leak %g), washout %lld, ridge %g: fitted in %.2f s\n", cfg.column.c_str(),
                 static_cast<long long>(s.n), static_cast<long long>(s.train_end),
                 static_cast<long long>(s.valid_end - s.train_end), static_cast<long long>(s.n - s.valid_end),
                 static_cast<long long>(cfg.reservoir), cfg.density, cfg.spectral_radius, cfg.leak,
                 static_cast<long long>(cfg.washout), cfg.ridge, fit_s);
  print_eval(v, cfg.horizon);
  print_eval(t, cfg.horizon);
  std::fflush(stdout);
  const std::string text = r.dump(2) + "\n";
  io::write_file_atomic(dir.file("results.json"), text);
  return text;
}

}  // namespace recurrent::tasks
