// recurrent predict --model DIR --data F.csv [--part test] [--out forecasts.csv] [--plot out.png]
//   — a forecaster's forecasts as CSV (every window of the part, then the H steps past the last row),
//   and optionally a PNG of history, forecasts and truth drawn by scripts/forecast/plot.py with
//   matplotlib (Debian's /usr/bin/python3, or $RECURRENT_PYTHON; the script: $RECURRENT_PLOT_SCRIPT,
//   else the source tree's copy).
// Also `recurrent eval` for forecasters (eval_forecaster): the part's metrics as text or one JSON line.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/forecast.h"

extern char** environ;

namespace recurrent::cli {

namespace {

namespace fs = std::filesystem;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Runs argv[0] with argv (no shell) and waits; throws Error(where, ...) unless it exits with 0.
void run_program(const std::vector<std::string>& args, const std::string& where) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  RC_CHECK(rc == 0, where, "cannot run ", args[0], " (", std::strerror(rc), ")");
  int status = 0;
  RC_CHECK(waitpid(pid, &status, 0) == pid, where, "waiting for ", args[0], " failed");
  RC_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, where, args[0], " ", args[1], " failed (exit status ",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, "; matplotlib needs Debian's python3-matplotlib)");
}

void plot(const tasks::ForecastConfig& c, const std::string& data, const std::string& csv, const std::string& png,
          tasks::Part part) {
  const std::string script = env_or("RECURRENT_PLOT_SCRIPT", std::string(RECURRENT_SOURCE_DIR) + "/scripts/forecast/plot.py");
  RC_CHECK(fs::exists(script), "--plot", "plot script not found: ", script, " (set RECURRENT_PLOT_SCRIPT)");
  std::vector<std::string> args = {env_or("RECURRENT_PYTHON", "/usr/bin/python3"), script, "--data", data,
                                   "--column", c.column, "--forecasts", csv, "--out", png,
                                   "--horizon", std::to_string(c.horizon), "--title",
                                   c.column + ": " + tasks::part_name(part) + " part, horizon " + std::to_string(c.horizon)};
  if (!c.time_column.empty()) args.insert(args.end(), {"--time-column", c.time_column});
  run_program(args, "--plot");
}

}  // namespace

void eval_forecaster(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_forecaster(model);
  const tasks::ForecastData d = tasks::load_forecast_data(data, m->config());
  const tasks::ForecastEval e = tasks::evaluate_forecaster(*m, d, tasks::Part::test);
  if (json) {
    nlohmann::json j = {{"part", "test"},
                        {"windows", e.windows},
                        {"horizon", m->config().horizon},
                        {"mae", e.model.mae},
                        {"rmse", e.model.rmse},
                        {"mase", e.mase},
                        {"naive_mae", e.naive.mae},
                        {"naive_rmse", e.naive.rmse},
                        {"naive_mase", e.naive_mase},
                        {"seasonal_naive_mae", e.seasonal_naive.mae},
                        {"seasonal_naive_rmse", e.seasonal_naive.rmse},
                        {"seasonal_naive_mase", e.seasonal_naive_mase},
                        {"season", m->config().season},
                        {"mase_scale", e.scale}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("test part (%lld windows x %lld steps): MAE %.4g  RMSE %.4g  MASE %.4f;  naive MASE %.4f;  "
                "seasonal naive (S=%lld) MASE %.4f\n",
                static_cast<long long>(e.windows), static_cast<long long>(m->config().horizon), e.model.mae,
                e.model.rmse, e.mase, e.naive_mase, static_cast<long long>(m->config().season), e.seasonal_naive_mase);
  }
}

void add_predict(CLI::App& app) {
  struct Args {
    std::string model, data, out, plot, part = "test";
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("predict", "forecasts of a trained forecaster as CSV (and a PNG plot)");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required();
  c->add_option("--data", a->data, "the CSV series (same columns as in training)")->required()->check(CLI::ExistingFile);
  c->add_option("--part", a->part, "windows of this part of the chronological split: train, valid or test")
      ->capture_default_str();
  c->add_option("--out", a->out, "forecasts CSV (default: stdout)");
  c->add_option("--plot", a->plot, "PNG of history, forecasts and truth (matplotlib)");
  c->callback([a] {
    auto m = tasks::load_forecaster(a->model);
    const tasks::ForecastData d = tasks::load_forecast_data(a->data, m->config());
    const tasks::Part part = tasks::parse_part(a->part);
    const std::string csv = tasks::forecast_csv(*m, d, part);
    std::string csv_path = a->out;
    if (a->out.empty()) {
      std::fputs(csv.c_str(), stdout);
      std::fflush(stdout);
      if (!a->plot.empty()) csv_path = a->plot + ".forecasts.csv";
    }
    if (!csv_path.empty()) data::write_file(csv_path, csv);
    if (!a->plot.empty()) {
      plot(m->config(), a->data, csv_path, a->plot, part);
      if (a->out.empty()) fs::remove(csv_path);
    }
  });
}

}  // namespace recurrent::cli
