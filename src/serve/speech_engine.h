// serve/speech_engine.h — a speech model (train asr; tasks/asr.h) behind the server. One worker thread
// (serve/worker.h) owns the model and runs one request at a time; at most max_queue wait.
//
//   transcribe(audio bytes, beam)  the upload read as `recurrent transcribe FILE` reads a file (WAV,
//                                  FLAC, …; resampled to the model's rate), the same digits:
//                                  {"text": "3 1 4", "digits", "seconds", "notes"} (+ "confidence" for
//                                  an isolated-digit classifier; CTC: "beam" is the prefix beam width)
//   audio sessions                 open → id; push(raw s16le mono PCM at the model's rate) → the digits
//                                  decoded so far, as `recurrent transcribe --stream` prints them
//                                  (tasks::AsrStream: the RNN state, feature stream and frame stack
//                                  carried between pushes); finish → the final digits, equal to the
//                                  whole-file transcription (greedy), and the session closes.
// Sessions need a unidirectional CTC model with a global normalisation (AsrStream says why otherwise);
// capped at max_sessions, closed after session_idle unused.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "recurrent/tasks/asr.h"
#include "serve/lm_engine.h"
#include "serve/metrics.h"
#include "serve/worker.h"

namespace recurrent::serve {

class SpeechEngine {
 public:
  SpeechEngine(std::string name, const std::string& path, EngineLimits limits, ModelMetrics& metrics);  // loads it
  ~SpeechEngine();
  SpeechEngine(const SpeechEngine&) = delete;
  SpeechEngine& operator=(const SpeechEngine&) = delete;

  const std::string& name() const { return name_; }
  const nlohmann::json& description() const { return description_; }  // for GET /v1/models
  int sample_rate() const { return rate_; }

  // Each an invalid future when the queue is full or the engine shuts down; Errors travel in it.
  std::future<nlohmann::json> try_transcribe(std::string audio, int64_t beam);
  std::future<std::string> try_open_session();  // "" when max_sessions are open
  // pcm: whole s16le samples (an odd byte count is an Error). finish: the end of the audio; closes.
  std::future<nlohmann::json> try_push(const std::string& id, std::string pcm, bool finish);
  bool close_session(const std::string& id);  // false: no such session

  bool accepting() const { return worker_->accepting(); }
  void shutdown() { worker_->shutdown(); }

 private:
  struct Session;
  void close_idle_sessions();
  void count_sessions();  // under mu_

  std::string name_;
  std::unique_ptr<tasks::AsrModel> model_;
  int rate_ = 0;
  nlohmann::json description_;
  EngineLimits lim_;
  ModelMetrics& metrics_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // under mu_ (the streams: worker thread)
  std::unique_ptr<Worker> worker_;  // last: its thread stops before the rest goes
};

}  // namespace recurrent::serve
