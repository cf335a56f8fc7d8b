// Echo state networks (train esn) in `recurrent eval` and `recurrent predict`:
//   eval --model DIR --data F.csv [--json]     the test part's one-step (and free-run) figures
//   predict --model DIR --data F.csv [--part test] [--out F|-]   forecasts CSV as for forecasters
// classifying ones (--mode classify):
//   eval --model DIR --data F [--json]          {"n", "accuracy", "macro_f1"} on labelled sentences
//   predict --model DIR [--input F|-] [--out F|-]   TSV: text, label, then each class's score
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/tasks/predict.h"

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
  if (m->config().classify()) {
    const tasks::ClassifyEval e = tasks::evaluate_esn_classifier(*m, data::read_labeled(data));
    if (json)
      std::printf("%s\n", nlohmann::json{{"n", e.n}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}}.dump().c_str());
    else
      std::printf("accuracy %.2f%%  macro-F1 %.4f on %lld sentences\n", 100 * e.accuracy, e.macro_f1,
                  static_cast<long long>(e.n));
    return;
  }
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

void predict_esn(const std::string& model, const std::string& data, const std::string& part, const std::string& input,
                 const std::string& out, bool input_given, bool format_given) {
  auto m = tasks::load_esn(model);
  check_finite_weights(*m, model);
  std::string csv;
  if (m->config().classify()) {
    RC_CHECK(data.empty(), "--data", "applies to forecasting echo state networks; this one classifies (give its input "
             "with --input, or stdin)");
    RC_CHECK(!format_given, "--format", "a classifying echo state network writes TSV only");
    const std::string where = input == "-" ? "stdin" : input;
    std::string content;
    if (input == "-") {
      content.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      content = data::read_file(input);
    }
    std::vector<std::string> texts;
    for (const tasks::InputLine& l : tasks::read_input_lines(content, where)) texts.push_back(l.text);
    const std::vector<std::vector<double>> scores = tasks::esn_class_scores(*m, texts, where);
    csv = "text\tlabel";
    for (const std::string& l : m->config().labels) csv += "\tscore_" + tasks::tsv_escape(l);
    csv += "\n";
    for (size_t i = 0; i < texts.size(); ++i) {
      const size_t best = std::max_element(scores[i].begin(), scores[i].end()) - scores[i].begin();
      csv += tasks::tsv_escape(texts[i]) + "\t" + tasks::tsv_escape(m->config().labels[best]);
      for (double v : scores[i]) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "\t%.6g", v);
        csv += buf;
      }
      csv += "\n";
    }
  } else {
    RC_CHECK(!input_given, "--input", "applies to text models and classifying echo state networks; this one forecasts "
             "(it reads its series with --data)");
    RC_CHECK(!format_given, "--format", "applies to text models; this echo state network forecasts (it writes CSV)");
    RC_CHECK(!data.empty(), "--data", "an echo state network predicts from its CSV series: give --data FILE");
    const tasks::EsnSeries d = tasks::load_esn_series(data, m->config());
    csv = tasks::esn_forecast_csv(*m, d, tasks::parse_part(part));
  }
  if (out == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    std::fflush(stdout);
  } else {
    io::write_file_atomic(out, csv);
  }
}

}  // namespace recurrent::cli
