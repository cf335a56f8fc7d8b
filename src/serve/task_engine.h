// serve/task_engine.h — a model of another kind than a language model behind the server: a classifier
// (train classify), a tagger (train tag) or an encoder-decoder (train seq2seq). One worker thread owns
// the model and answers one request at a time (no batching); at most max_queue wait.
//   classify   {"text"} → {"label", "probs": {label: p}}           (as `recurrent predict --format jsonl`)
//   tag        {"text"} → {"tokens", "tags", "probs"}              (tokens split on whitespace)
//   translate  {"text", "beam"?} → {"translation", "log_prob", "ended"}
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "serve/lm_engine.h"
#include "serve/request.h"

namespace recurrent::serve {

class TaskEngine {
 public:
  // task: "classify" | "tag" | "seq2seq" (Error naming the path otherwise). Loads the model.
  TaskEngine(std::string name, std::string task, const std::string& path, EngineLimits limits);
  ~TaskEngine();
  TaskEngine(const TaskEngine&) = delete;
  TaskEngine& operator=(const TaskEngine&) = delete;

  const std::string& name() const { return name_; }
  const std::string& task() const { return task_; }
  const std::string& endpoint() const { return endpoint_; }  // "/v1/classify", "/v1/tag", "/v1/translate"
  // An invalid future when the queue is full or the engine shuts down. Errors (Error) travel in it.
  std::future<nlohmann::json> try_predict(const TextRequest& r);
  bool accepting() const;
  void shutdown();  // queued requests fail (broken promise); the one running finishes

 private:
  void loop();
  std::string name_, task_, endpoint_;
  EngineLimits lim_;
  std::function<nlohmann::json(const TextRequest&)> predict_;  // runs on the worker thread
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace recurrent::serve
