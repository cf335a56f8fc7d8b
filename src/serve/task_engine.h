// serve/task_engine.h — a model of another kind than a language model behind the server: a classifier
// (train classify), a tagger (train tag), an encoder-decoder (train seq2seq) or a forecaster (train
// forecast). One worker thread (serve/worker.h) owns the model and answers one request at a time (no
// batching); at most max_queue wait. Speech models have their own engine (serve/speech_engine.h).
//   classify   {"text"} → {"label", "probs": {label: p}}           (as `recurrent predict --format jsonl`)
//   tag        {"text"} → {"tokens", "tags", "probs"}              (tokens split on whitespace)
//   translate  {"text", "beam"?} → {"translation", "log_prob", "ended"}
//   forecast   {"history": [[y, f1, …], …] or [y, …], "horizon"?} → {"forecast": [ŷ_1 … ŷ_h], "horizon",
//              "lookback"}: the forecast from the history's last row, as the last rows of `recurrent
//              predict`'s CSV (the future from the series' last row); the model reads the last L rows.
#pragma once

#include <functional>
#include <memory>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "serve/lm_engine.h"
#include "serve/request.h"
#include "serve/worker.h"

namespace recurrent::serve {

using TaskInput = std::variant<TextRequest, ForecastRequest>;

class TaskEngine {
 public:
  // task: "classify" | "tag" | "seq2seq" | "forecast" (Error naming the path otherwise). Loads the model.
  // `metrics`: the model's queue depth gauge is kept there.
  TaskEngine(std::string name, std::string task, const std::string& path, EngineLimits limits, ModelMetrics& metrics);
  ~TaskEngine();
  TaskEngine(const TaskEngine&) = delete;
  TaskEngine& operator=(const TaskEngine&) = delete;

  const std::string& name() const { return name_; }
  const std::string& task() const { return task_; }
  // "/v1/classify", "/v1/tag", "/v1/translate", "/v1/forecast"
  const std::string& endpoint() const { return endpoint_; }
  const nlohmann::json& description() const { return description_; }  // for GET /v1/models
  // An invalid future when the queue is full or the engine shuts down. Errors (Error) travel in it,
  // also a request of the wrong kind for this model.
  std::future<nlohmann::json> try_predict(const TaskInput& r);
  bool accepting() const { return worker_->accepting(); }
  void shutdown() { worker_->shutdown(); }  // queued requests fail (broken promise); the one running finishes

 private:
  std::string name_, task_, endpoint_;
  nlohmann::json description_ = nlohmann::json::object();
  std::function<nlohmann::json(const TaskInput&)> predict_;  // runs on the worker thread
  std::unique_ptr<Worker> worker_;
};

}  // namespace recurrent::serve
