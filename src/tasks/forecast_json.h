#pragma once
// Shared by `train forecast` and `train esn`: a forecast evaluation as results.json and `eval --json` carry it,
// and the comma list of column names that --features takes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recurrent/tasks/forecast.h"

namespace recurrent::tasks::detail {

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {} (an empty name is the caller's to refuse).
std::vector<std::string> split_commas(const std::string& s);

// e's errors, MASE and its baselines (naive, seasonal naive), per step when it forecasts several.
nlohmann::json forecast_eval_json(const ForecastEval& e);

}  // namespace recurrent::tasks::detail
