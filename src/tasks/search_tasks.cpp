// `train forecast|classify|tag --search N`: the candidates of docs/defaults.md's evidence
// tables and how a trial runs and is scored; the search itself is train/search.h's successive halving.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <type_traits>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/tag.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using train::SearchCandidate;

// A finished trial's results.json; fills what every task's report takes from it (stopped early, epochs, time).
json trial_results(const std::string& dir, train::TrialReport& r) {
  const std::string f = (fs::path(dir) / "results.json").string();
  RC_CHECK(fs::exists(f), "--search", "the trial in ", dir, " wrote no results.json");
  json j = json::parse(data::read_file(f));
  r.finished = j.at("stopped_early").get<bool>();
  r.epochs = io::json_int_at<int64_t>(j, "epochs_completed");
  r.train_seconds = j.at("train_seconds").get<double>();
  return j;
}

template <class O>
O trial_options(const O& base, const train::RunOptions& b, const SearchCandidate* c) {
  O o = base;
  static_cast<train::RunOptions&>(o) = b;
  o.search = 0;
  if (c == nullptr) return o;
  for (const auto& [f, v] : c->flags) {
    if (f == "--cell") o.cells = v;
    else if (f == "--hidden") o.hidden = v;
    else if (f == "--dropout") o.dropout = std::stod(v);
    else if constexpr (std::is_same_v<O, ClassifyTrainOptions>) {
      if (f == "--pool") o.pool = v;
      else if (f == "--word-dropout") o.word_dropout = std::stod(v);
      else if (f == "--bidirectional" || f == "--no-bidirectional") o.bidirectional = f == "--bidirectional";
      else throw Error("--search", "candidate " + c->name + " sets " + f + ", which train classify's search cannot");
    } else if constexpr (std::is_same_v<O, TagTrainOptions>) {
      throw Error("--search", "candidate " + c->name + " sets " + f + ", which train tag's search cannot");
    } else {
      throw Error("--search", "candidate " + c->name + " sets " + f + ", which train forecast's search cannot");
    }
  }
  return o;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

// Ordered by the mean ratio to the best baseline over all seven series (docs/defaults.md): lstm128 0.641,
// gru64 0.666, lstm32 0.679, lstm64-d2 0.688, lstm64 0.690.
const std::vector<SearchCandidate>& forecast_candidates() {
  static const std::vector<SearchCandidate> c = {
      {"lstm128", {{"--cell", "lstm"}, {"--hidden", "128"}, {"--dropout", "0"}}},
      {"gru64", {{"--cell", "gru"}, {"--hidden", "64"}, {"--dropout", "0"}}},
      {"lstm32", {{"--cell", "lstm"}, {"--hidden", "32"}, {"--dropout", "0"}}},
      {"lstm64-d2", {{"--cell", "lstm"}, {"--hidden", "64"}, {"--dropout", "0.2"}}},
      {"lstm64", {{"--cell", "lstm"}, {"--hidden", "64"}, {"--dropout", "0"}}},
  };
  return c;
}

// Ordered by the mean ratio to the bag-of-n-grams baseline over the four labelled sets (docs/defaults.md):
// bilstm-max-d5-wd2 1.085, bigru-max-d5-wd2 1.063, bilstm64-max-d5-wd2 1.027, bilstm-mean-d5 1.014,
// lstm-last 1.005, bilstm-max-d5 0.990.
const std::vector<SearchCandidate>& classify_candidates() {
  auto c = [](const char* name, const char* cell, const char* hidden, bool bi, const char* pool, const char* drop,
              const char* wd) {
    return SearchCandidate{name, {{"--cell", cell}, {"--hidden", hidden}, {bi ? "--bidirectional" : "--no-bidirectional", ""},
                                  {"--pool", pool}, {"--dropout", drop}, {"--word-dropout", wd}}};
  };
  static const std::vector<SearchCandidate> t = {
      c("bilstm-max-d5-wd2", "lstm", "128", true, "max", "0.5", "0.2"),
      c("bigru-max-d5-wd2", "gru", "128", true, "max", "0.5", "0.2"),
      c("bilstm64-max-d5-wd2", "lstm", "64", true, "max", "0.5", "0.2"),
      c("bilstm-mean-d5", "lstm", "128", true, "mean", "0.5", "0"),
      c("lstm-last", "lstm", "128", false, "last", "0", "0"),
      c("bilstm-max-d5", "lstm", "128", true, "max", "0.5", "0"),
  };
  return t;
}

// No evidence table orders these (one tagged corpus, docs/defaults.md): the default (BiLSTM 128, no dropout)
// first, then a GRU, dropout 0.3 (the usual tagger setting) and a smaller LSTM. All bidirectional, as the
// default is: a candidate sets --cell, --hidden and --dropout only.
const std::vector<SearchCandidate>& tag_candidates() {
  static const std::vector<SearchCandidate> c = {
      {"bilstm128", {{"--cell", "lstm"}, {"--hidden", "128"}, {"--dropout", "0"}}},
      {"bigru128", {{"--cell", "gru"}, {"--hidden", "128"}, {"--dropout", "0"}}},
      {"bilstm128-d3", {{"--cell", "lstm"}, {"--hidden", "128"}, {"--dropout", "0.3"}}},
      {"bilstm64", {{"--cell", "lstm"}, {"--hidden", "64"}, {"--dropout", "0"}}},
  };
  return c;
}

ForecastOutcome search_forecaster(const ForecastTrainOptions& base) {
  const std::vector<SearchCandidate> cands = train::first_candidates(forecast_candidates(), base.search);
  auto run = [&](size_t k, const train::RunOptions& b, bool) {
    const ForecastTrainOptions o = trial_options(base, b, &cands[k]);
    train::TrialReport r;
    if (train_forecaster(o) == ForecastOutcome::stopped) return r;  // interrupted: the search stops
    const json j = trial_results(b.out, r);
    const double mae = j.at("valid").at("mae").get<double>();
    r.score = -mae;
    r.summary = "valid MAE " + fmt("%.4g", mae) + " (MASE " + fmt("%.3f", j.at("valid").at("mase").get<double>()) + ")";
    return r;
  };
  auto final_eval = [&](const train::RunOptions& f) { train_forecaster(trial_options(base, f, nullptr)); };
  train::successive_halving(cands, base, run, final_eval);
  return ForecastOutcome::finished;
}

ClassifyOutcome search_classifier(const ClassifyTrainOptions& base) {
  const std::vector<SearchCandidate> cands = train::first_candidates(classify_candidates(), base.search);
  auto run = [&](size_t k, const train::RunOptions& b, bool) {
    const ClassifyTrainOptions o = trial_options(base, b, &cands[k]);
    train::TrialReport r;
    if (train_classifier(o) == ClassifyOutcome::stopped) return r;
    const json j = trial_results(b.out, r);
    const double f1 = j.at("valid").at("macro_f1").get<double>();
    r.score = f1;
    r.summary = "valid macro-F1 " + fmt("%.4f", f1) + " (accuracy " + fmt("%.2f%%", 100 * j.at("valid").at("accuracy").get<double>()) + ")";
    return r;
  };
  auto final_eval = [&](const train::RunOptions& f) { train_classifier(trial_options(base, f, nullptr)); };
  train::successive_halving(cands, base, run, final_eval);
  return ClassifyOutcome::finished;
}

TagOutcome search_tagger(const TagTrainOptions& base) {
  const std::vector<SearchCandidate> cands = train::first_candidates(tag_candidates(), base.search);
  auto run = [&](size_t k, const train::RunOptions& b, bool) {
    const TagTrainOptions o = trial_options(base, b, &cands[k]);
    train::TrialReport r;
    if (train_tagger(o) == TagOutcome::stopped) return r;
    const json j = trial_results(b.out, r);
    r.score = j.at("valid").at("score").get<double>();
    r.summary = "valid score " + fmt("%.4f", r.score) + " (accuracy " + fmt("%.2f%%", 100 * j.at("valid").at("accuracy").get<double>()) + ")";
    return r;
  };
  auto final_eval = [&](const train::RunOptions& f) { train_tagger(trial_options(base, f, nullptr)); };
  train::successive_halving(cands, base, run, final_eval);
  return TagOutcome::finished;
}

}  // namespace recurrent::tasks
