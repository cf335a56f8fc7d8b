// Classifier, tagger, encoder-decoder and forecaster behind one worker thread (contract in serve/task_engine.h).
#include "serve/task_engine.h"

#include <algorithm>
#include <memory>

#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/predict.h"

namespace recurrent::serve {

using nlohmann::json;

namespace {

using Predict = std::function<json(const TaskInput&)>;

Predict classifier(const std::string& path) {
  std::shared_ptr<tasks::TextClassifier> m = tasks::load_classifier(path);
  return [m](const TaskInput& in) {
    const TextRequest& r = std::get<TextRequest>(in);
    const std::vector<float> p = tasks::classifier_probabilities(*m, {m->encode(r.text, "text")});  // [1, C]
    const std::vector<std::string>& labels = m->config().labels;
    json probs = json::object();
    for (size_t c = 0; c < labels.size(); ++c) probs[labels[c]] = p[c];
    const size_t best = std::max_element(p.begin(), p.begin() + static_cast<int64_t>(labels.size())) - p.begin();
    return json{{"label", labels[best]}, {"probs", probs}};
  };
}

Predict tagger(const std::string& path) {
  std::shared_ptr<tasks::Tagger> m = tasks::load_tagger(path);
  return [m](const TaskInput& in) {
    const TextRequest& r = std::get<TextRequest>(in);
    const std::vector<tasks::TokenSentence> s = tasks::read_tag_input(r.text, "text", "lines");
    RC_CHECK(s.size() == 1, "text", "expected one sentence on one line, got ", s.size());
    const tasks::TagPrediction p = tasks::predict_tags(*m, s)[0];
    json tags = json::array();
    for (int64_t id : p.tags) tags.push_back(m->config().tags[id]);
    return json{{"tokens", s[0].tokens}, {"tags", tags}, {"probs", p.probs}};
  };
}

Predict encoder_decoder(const std::string& path) {
  std::shared_ptr<tasks::Seq2SeqModel> m = tasks::load_seq2seq(path);
  return [m](const TaskInput& in) {
    const TextRequest& r = std::get<TextRequest>(in);
    tasks::DecodeOptions o;
    o.beam = std::max<int64_t>(r.beam, 1);
    const tasks::Translation t = tasks::translate(*m, {m->encode_source(r.text, "text")}, o)[0];
    return json{{"translation", m->render(t.ids)}, {"log_prob", t.log_prob}, {"ended", t.ended}};
  };
}

// The forecast from the history's last row (origin N − 1), as forecast_csv's last H rows: the model
// reads rows N − L … N − 1 of the target and feature columns (no gaps: JSON numbers only).
Predict forecaster(const std::string& path, json& description) {
  std::shared_ptr<tasks::Forecaster> m = tasks::load_forecaster(path);
  const tasks::ForecastConfig& c = m->config();
  std::vector<std::string> columns{c.column};
  columns.insert(columns.end(), c.features.begin(), c.features.end());
  description = {{"columns", columns}, {"lookback", c.lookback}, {"horizon", c.horizon}};
  return [m, columns](const TaskInput& in) {
    const ForecastRequest& r = std::get<ForecastRequest>(in);
    const tasks::ForecastConfig& c = m->config();
    const int64_t C = c.channels(), L = c.lookback, N = static_cast<int64_t>(r.history.size());
    std::string names;
    for (const std::string& n : columns) names += (names.empty() ? "" : ", ") + n;
    RC_CHECK(static_cast<int64_t>(r.history[0].size()) == C, "field \"history\"", "this forecaster reads ", C,
             " value(s) a row (", names, "), got ", r.history[0].size());
    RC_CHECK(N >= L, "field \"history\"", "this forecaster reads the last ", L, " rows (its lookback), got ", N);
    const int64_t h = r.horizon == 0 ? c.horizon : r.horizon;
    RC_CHECK(h <= c.horizon, "field \"horizon\"", "this forecaster forecasts at most ", c.horizon,
             " steps (all at once), asked for ", h);
    tasks::ForecastData d;
    d.filled.assign(static_cast<size_t>(C), std::vector<double>(static_cast<size_t>(N)));  // [C][N]
    for (int64_t t = 0; t < N; ++t)
      for (int64_t k = 0; k < C; ++k) d.filled[k][t] = r.history[t][k];
    d.series.values = {d.filled[0]};
    d.split.n = d.split.train_end = d.split.valid_end = N;
    std::vector<double> f = m->forecast(d, {N - 1});  // [H]
    f.resize(static_cast<size_t>(h));
    return json{{"forecast", f}, {"horizon", h}, {"lookback", L}};
  };
}

}  // namespace

TaskEngine::TaskEngine(std::string name, std::string task, const std::string& path, EngineLimits limits,
                       ModelMetrics& metrics)
    : name_(std::move(name)), task_(std::move(task)) {
  if (task_ == "classify") predict_ = classifier(path), endpoint_ = "/v1/classify";
  else if (task_ == "tag") predict_ = tagger(path), endpoint_ = "/v1/tag";
  else if (task_ == "seq2seq") predict_ = encoder_decoder(path), endpoint_ = "/v1/translate";
  else if (task_ == "forecast") predict_ = forecaster(path, description_), endpoint_ = "/v1/forecast";
  else throw Error(path, "serve takes language models, classifiers, taggers, encoder-decoders, forecasters and "
                         "speech models; this model's task is \"" + task_ + "\"");
  worker_ = std::make_unique<Worker>(limits.max_queue, std::function<void()>(), &metrics.queue_depth);
}

TaskEngine::~TaskEngine() { worker_.reset(); }  // joins before predict_ goes

std::future<json> TaskEngine::try_predict(const TaskInput& r) {
  return worker_->try_run([this, r] { return predict_(r); });
}

}  // namespace recurrent::serve
