// An echo state network's settings: checks (one line naming the option) and the JSON of its model file.
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

using nlohmann::json;

void EsnConfig::validate() const {
  // A dense eigenvalue solve of N×N and a dense N×N copy in the model file: keep N within reach.
  RC_CHECK(reservoir >= 1 && reservoir <= 8192, "--reservoir", "expected a number of units in [1, 8192], got ",
           reservoir);
  RC_CHECK(std::isfinite(spectral_radius) && spectral_radius > 0, "--spectral-radius",
           "expected a positive real (the largest |eigenvalue| of W after scaling), got ", spectral_radius);
  RC_CHECK(leak > 0 && leak <= 1, "--leak", "expected a leaking rate in (0, 1] (1: no leaky integration), got ", leak);
  RC_CHECK(std::isfinite(input_scale) && input_scale > 0, "--input-scale", "expected a positive real, got ",
           input_scale);
  RC_CHECK(density > 0 && density <= 1, "--density", "expected a fraction of non-zero reservoir weights in (0, 1], got ",
           density);
  RC_CHECK(std::isfinite(ridge) && ridge >= 0, "--ridge", "expected a regularisation >= 0, got ", ridge);
  RC_CHECK(washout >= 0, "--washout", "expected a number of steps >= 0, got ", washout);
  RC_CHECK(mode == "forecast" || mode == "classify", "--mode", "expected forecast or classify, got '", mode, "'");
  RC_CHECK(min_count >= 1, "--min-count", "expected a positive integer, got ", min_count);
  if (classify()) {
    RC_CHECK(inputs >= 1 && outputs >= 1, "esn", "expected at least one input and one output");
    return;
  }
  RC_CHECK(horizon >= 1, "--horizon", "expected a positive integer, got ", horizon);
  RC_CHECK(season >= 1, "--season", "expected a positive integer, got ", season);
  RC_CHECK(horizon == 1 || (target_input && features.empty()), "--horizon",
           "free-run prediction over ", horizon, " steps feeds the forecasts back as inputs, so it needs the target as "
           "the only input (no --features, no --no-target-input)");
  RC_CHECK(target_input || !features.empty(), "--no-target-input",
           "needs --features: without the target as input the reservoir would have no input at all");
  RC_CHECK(inputs >= 1 && outputs >= 1, "esn", "expected at least one input and one output");
  for (const std::string& f : features) {
    RC_CHECK(!f.empty(), "--features", "empty column name in the list");
    RC_CHECK(f != column, "--features", "'", f, "' is the --column itself (use it as input by default)");
  }
}

std::string EsnConfig::to_json() const {
  json j = {{"task", "esn"},           {"mode", mode},
            {"chars", chars},          {"lower", lower},
            {"min_count", min_count},  {"vocab", vocab},
            {"labels", labels},
            {"reservoir", reservoir},  {"spectral_radius", spectral_radius},
            {"leak", leak},            {"input_scale", input_scale},
            {"density", density},      {"ridge", ridge},
            {"washout", washout},      {"seed", seed},
            {"inputs", inputs},        {"outputs", outputs},
            {"column", column},        {"time_column", time_column},
            {"features", features},    {"target_input", target_input},
            {"difference", difference},
            {"horizon", horizon},      {"season", season},
            {"valid_frac", valid_frac}, {"test_frac", test_frac},
            {"mean", mean},            {"stdev", stdev}};
  return j.dump();
}

EsnConfig EsnConfig::from_json(const std::string& text, const std::string& where) {
  try {
    const json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "esn", where, "not an echo state network (task '", j.value("task", ""), "')");
    EsnConfig c;
    c.mode = j.value("mode", "forecast");
    c.chars = j.value("chars", false);
    c.lower = j.value("lower", true);
    c.min_count = io::json_int_or<int64_t>(j, "min_count", 2);
    c.vocab = j.value("vocab", std::vector<std::string>{});
    c.labels = j.value("labels", std::vector<std::string>{});
    c.reservoir = io::json_int_at<int64_t>(j, "reservoir");
    c.spectral_radius = j.at("spectral_radius").get<double>();
    c.leak = j.at("leak").get<double>();
    c.input_scale = j.at("input_scale").get<double>();
    c.density = j.at("density").get<double>();
    c.ridge = j.at("ridge").get<double>();
    c.washout = io::json_int_at<int64_t>(j, "washout");
    c.seed = io::json_int_at<uint64_t>(j, "seed");
    c.inputs = io::json_int_at<int64_t>(j, "inputs");
    c.outputs = io::json_int_at<int64_t>(j, "outputs");
    c.column = j.at("column").get<std::string>();
    c.time_column = j.at("time_column").get<std::string>();
    c.features = j.at("features").get<std::vector<std::string>>();
    c.target_input = j.at("target_input").get<bool>();
    c.difference = j.value("difference", false);
    c.horizon = io::json_int_at<int64_t>(j, "horizon");
    c.season = io::json_int_at<int64_t>(j, "season");
    c.valid_frac = j.at("valid_frac").get<double>();
    c.test_frac = j.at("test_frac").get<double>();
    c.mean = j.at("mean").get<std::vector<double>>();
    c.stdev = j.at("stdev").get<std::vector<double>>();
    c.validate();
    RC_CHECK(c.classify() ? static_cast<int64_t>(c.vocab.size()) == c.inputs &&
                                static_cast<int64_t>(c.labels.size()) == c.outputs
                          : c.mean.size() == c.features.size() + 1 && c.stdev.size() == c.mean.size(), where,
             "expected one mean and standard deviation per column (forecast), or one input per vocabulary "
             "entry and one output per label (classify)");
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(where, "bad model configuration: " + std::string(e.what()));
  }
}

}  // namespace recurrent::tasks
