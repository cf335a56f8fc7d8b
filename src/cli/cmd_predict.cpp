// recurrent predict --model DIR [--input FILE|-] [--out FILE|-] [--format tsv|jsonl] — a trained
// model's predictions on new input, for every model kind (the formats: recurrent/tasks/predict.h):
//   classifier    per input line the predicted label and every label's probability
//   tagger        CoNLL (token<TAB>tag, a blank line after each sentence); input one sentence a line,
//                 or CoNLL (--input-format)
//   language model (char or word, RNN or transformer): per line the --top-k most likely next tokens
//   conditional LM: per `label<TAB>context` line the --top-k most likely next words
//   encoder-decoder: per line its translation (greedy, or --beam K)
//   echo state network --data F.csv [--part test] [--out forecasts.csv]: the same CSV; a classifying one:
//                 --input lines → TSV text, label, scores (cmd_predict_esn.cpp)
//   forecaster    --data F.csv [--part test] [--out forecasts.csv] [--plot out.png]: the forecasts as
//                 CSV (every window of the part, then the H steps past the last row), and optionally a
//                 PNG of history, forecasts and truth drawn by scripts/forecast/plot.py with matplotlib
//                 (Debian's /usr/bin/python3, or $RECURRENT_PYTHON; the script: $RECURRENT_PLOT_SCRIPT,
//                 else the source tree's copy).
// An option that does not apply to the model's kind is refused, naming the option and the kind.
// Also `recurrent eval` for forecasters (eval_forecaster): the part's metrics as text or one JSON line.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/predict.h"

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
  check_finite(e.model.mae, "MAE", {{m.get(), model}});
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
    j["baselines"] = {{"naive", {{"mae", e.naive.mae}, {"rmse", e.naive.rmse}, {"mase", e.naive_mase}}},
                      {"seasonal_naive", {{"mae", e.seasonal_naive.mae}, {"rmse", e.seasonal_naive.rmse},
                                          {"mase", e.seasonal_naive_mase}, {"season", m->config().season}}}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("test part (%lld windows x %lld steps): MAE %.4g  RMSE %.4g  MASE %.4f;  naive MASE %.4f;  "
                "seasonal naive (S=%lld) MASE %.4f\n",
                static_cast<long long>(e.windows), static_cast<long long>(m->config().horizon), e.model.mae,
                e.model.rmse, e.mase, e.naive_mase, static_cast<long long>(m->config().season), e.seasonal_naive_mase);
  }
}


namespace {

struct PredictArgs {
  std::string model, input = "-", out = "-", format = "tsv", input_format = "auto";
  std::string data, plot, part = "test";  // forecaster
  int64_t top_k = 5;
  tasks::DecodeOptions decode;
};

// Which model kinds (model_task names) each kind-specific option applies to; given for another kind,
// it is refused: "--top-k: applies to language models; this model is a classifier".
struct Scope {
  const char* option;
  std::vector<std::string> tasks;
  const char* applies;
  const char* hint = "";  // after the kind
};
const std::vector<Scope>& scopes() {
  static const std::vector<std::string> text = {"classify", "tag", "lm", "condlm", "seq2seq", "esn"};
  static const char* s2s = "encoder-decoders (train seq2seq)";
  static const std::vector<Scope> s = {
      {"--data", {"forecast", "esn"}, "forecasters and echo state networks (their CSV series)",
       " (give its input with --input, or stdin)"},
      {"--part", {"forecast", "esn"}, "forecasters and echo state networks"},
      {"--plot", {"forecast"}, "forecasters"},
      {"--input", text, "text models", " (it reads its series with --data)"},
      {"--format", text, "text models", " (it writes CSV)"},
      {"--input-format", {"tag"}, "taggers"},
      {"--top-k", {"lm", "condlm"}, "language models"},
      {"--beam", {"seq2seq"}, s2s},
      {"--max-len", {"seq2seq"}, s2s},
      {"--length-penalty", {"seq2seq"}, s2s},
  };
  return s;
}

void check_scopes(const CLI::App& c, const std::string& task) {
  for (const Scope& s : scopes())
    RC_CHECK(c.count(s.option) == 0 || std::find(s.tasks.begin(), s.tasks.end(), task) != s.tasks.end(), s.option,
             "applies to ", s.applies, "; this model is ", model_kind(task), s.hint);
}

// stdout for "-", else the file, replaced atomically.
void write_output(const std::string& out, const std::string& content) {
  if (out == "-") {
    std::fwrite(content.data(), 1, content.size(), stdout);
    std::fflush(stdout);
  } else {
    io::write_file_atomic(out, content);
  }
}

void predict_forecast(const PredictArgs& a) {
  RC_CHECK(!a.data.empty(), "--data", "a forecaster predicts from its CSV series: give --data FILE");
  for (const auto& [opt, file] : {std::pair<const char*, std::string>{"--plot", a.plot}, {"--out", a.out}}) {
    const fs::path dir = fs::path(file).parent_path();
    RC_CHECK(file.empty() || file == "-" || dir.empty() || fs::is_directory(dir), opt, "the folder ", dir.string(),
             " does not exist (create it first)");
  }
  auto m = tasks::load_forecaster(a.model);
  check_finite_weights(*m, a.model);
  const tasks::ForecastData d = tasks::load_forecast_data(a.data, m->config());
  const tasks::Part part = tasks::parse_part(a.part);
  const std::string csv = tasks::forecast_csv(*m, d, part);
  std::string csv_path = a.out == "-" ? "" : a.out;
  if (a.out == "-") {
    write_output("-", csv);
    if (!a.plot.empty()) csv_path = a.plot + ".forecasts.csv";
  }
  if (!csv_path.empty()) data::write_file(csv_path, csv);
  if (!a.plot.empty()) {
    plot(m->config(), a.data, csv_path, a.plot, part);
    if (a.out == "-") fs::remove(csv_path);
  }
}

std::string read_input(const std::string& input) {
  if (input != "-") return data::read_file(input);
  std::string s(std::istreambuf_iterator<char>(std::cin), {});
  RC_CHECK(!std::cin.bad(), "stdin", "cannot read the input");
  return s;
}

// A text model: read the input, predict, print. `task` is the model's kind (model_task).
void predict_text(const PredictArgs& a, const std::string& task) {
  const tasks::PredictFormat f = tasks::parse_predict_format(a.format);
  const std::string where = a.input == "-" ? "stdin" : a.input;
  const std::string content = read_input(a.input);
  std::ostringstream os;
  auto check = [&](const Module& m) { check_finite_weights(m, a.model); };
  if (task == "classify") {
    auto m = tasks::load_classifier(a.model);
    check(*m);
    tasks::predict_classify(*m, tasks::read_input_lines(content, where), f, os, where);
  } else if (task == "tag") {
    auto m = tasks::load_tagger(a.model);
    check(*m);
    tasks::predict_tag(*m, tasks::read_tag_input(content, where, a.input_format), f, os);
  } else if (task == "condlm") {
    auto m = tasks::load_condlm(a.model);
    check(*m);
    tasks::predict_condlm(*m, tasks::read_input_lines(content, where), a.top_k, f, os, where);
  } else if (task == "seq2seq") {
    auto m = tasks::load_seq2seq(a.model);
    check(*m);
    tasks::predict_seq2seq(*m, tasks::read_input_lines(content, where), a.decode, f, os, where);
  } else {
    auto m = tasks::open_lm(a.model);
    check(*m);
    tasks::predict_lm(*m, tasks::read_input_lines(content, where), a.top_k, f, os, where);
  }
  write_output(a.out, os.str());
}

}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* c = app.add_subcommand("predict", "a trained model on new input: a classifier's labels and probabilities, "
                                   "a tagger's tags (CoNLL), a language model's next tokens, an encoder-decoder's "
                                   "translations (TSV or JSONL), a forecaster's forecasts (CSV, PNG plot)");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required()->check(checked("path"));
  c->add_option("--input", a->input, "text model: input text, one item a line ('-': stdin)")->capture_default_str()->check(checked("text"));
  c->add_option("--out", a->out, "predictions file ('-': stdout)")->capture_default_str()->check(checked("text"));
  c->add_option("--format", a->format, "text model: tsv (a header row, then one row per line; a tagger: CoNLL) or "
                "jsonl (one JSON object per line)")->capture_default_str()->check(choice({"tsv", "jsonl"}));
  c->add_option("--input-format", a->input_format, "tagger: lines (one sentence a line, whitespace-separated tokens), "
                "conll (one token a line, first TAB column; blank line between sentences) or auto (conll when the "
                "first line has a TAB)")->capture_default_str()->check(choice({"auto", "lines", "conll"}));
  c->add_option("--top-k", a->top_k, "language model: how many of the most likely next tokens")->capture_default_str()->check(checked("positive"));
  c->add_option("--beam", a->decode.beam, "encoder-decoder: beam width (1: greedy)")->capture_default_str()->check(checked("positive"));
  c->add_option("--max-len", a->decode.max_len, "encoder-decoder: longest translation in words (0: 2 x source length "
                "+ 10)")->capture_default_str()->check(checked("count"));
  c->add_option("--length-penalty", a->decode.length_penalty, "encoder-decoder, beam: rank finished hypotheses by "
                "log p / length^alpha")->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--data", a->data, "forecaster: the CSV series (same columns as in training)")->check(checked("file"));
  c->add_option("--part", a->part, "forecaster: windows of this part of the chronological split: train, valid or test")
      ->capture_default_str()->check(choice({"train", "valid", "test"}));
  c->add_option("--plot", a->plot, "forecaster: PNG of history, forecasts and truth (matplotlib)")->check(checked("text"));
  c->callback([a, c] {
    std::string task = model_task(a->model);
    if (task.empty()) task = "lm";  // language models saved before configurations named their task
    check_scopes(*c, task);
    if (task == "forecast") return predict_forecast(*a);
    if (task == "esn")  // cmd_predict_esn.cpp: a forecasting one reads --data, a classifying one --input
      return predict_esn(a->model, a->data, a->part, a->input, a->out, c->count("--input") > 0, c->count("--format") > 0);
    RC_CHECK(task == "classify" || task == "tag" || task == "lm" || task == "condlm" || task == "seq2seq", a->model,
             "predict does not know ", model_kind(task));
    predict_text(*a, task);
  });
}

}  // namespace recurrent::cli
