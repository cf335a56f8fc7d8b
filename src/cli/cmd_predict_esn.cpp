// Echo state networks (train esn) in `recurrent eval` and `recurrent predict`:
//   eval --model DIR --data F.csv [--json]     the test part's one-step (and free-run) figures
//   predict --model DIR --data F.csv [--part test] [--out F|-]   forecasts CSV as for forecasters
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/esn.h"

namespace recurrent::cli {

namespace {
nlohmann::json figures(const tasks::ForecastEval& e) {
  return {{"windows", e.windows},      {"mae", e.model.mae},
          {"rmse", e.model.rmse},      {"mase", e.mase},
          {"naive_mase", e.naive_mase}, {"seasonal_naive_mase", e.seasonal_naive_mase},
          {"mae_by_step", e.mae_by_step}};
}
}  // namespace

void eval_esn(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_esn(model);
  check_finite_weights(*m, model);
  const tasks::EsnSeries d = tasks::load_esn_series(data, m->config());
  const tasks::EsnEval e = tasks::evaluate_esn(*m, d, tasks::Part::test);
  check_finite(e.one_step.model.mae, "MAE", {{m.get(), model}});
  const int64_t H = m->config().horizon;
  if (json) {
    nlohmann::json j = {{"part", "test"}, {"one_step", figures(e.one_step)}, {"nmse_one_step", e.nmse_one_step},
                        {"nrmse_horizon", e.nrmse_horizon}, {"horizon", H}};
    if (H > 1) j["free_run"] = figures(e.free_run);
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("test part (%lld steps): one-step MAE %.4g  RMSE %.4g  MASE %.4f  NMSE %.4g;  naive MASE %.4f\n",
              static_cast<long long>(e.one_step.windows), e.one_step.model.mae, e.one_step.model.rmse, e.one_step.mase,
              e.nmse_one_step, e.one_step.naive_mase);
  if (H > 1)
    std::printf("free run (%lld origins x %lld steps): MAE %.4g  RMSE %.4g  MASE %.4f  NRMSE at step %lld %.4g\n",
                static_cast<long long>(e.free_run.windows), static_cast<long long>(H), e.free_run.model.mae,
                e.free_run.model.rmse, e.free_run.mase, static_cast<long long>(H), e.nrmse_horizon);
}

void predict_esn(const std::string& model, const std::string& data, const std::string& part, const std::string& out) {
  auto m = tasks::load_esn(model);
  check_finite_weights(*m, model);
  const tasks::EsnSeries d = tasks::load_esn_series(data, m->config());
  const std::string csv = tasks::esn_forecast_csv(*m, d, tasks::parse_part(part));
  if (out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    std::fflush(stdout);
  } else {
    io::write_file_atomic(out, csv);
  }
}

}  // namespace recurrent::cli
