// serve/metrics.h — what `GET /metrics` reports, in the Prometheus text format (version 0.0.4):
//   recurrent_requests_total{endpoint, status}        counter
//   recurrent_request_seconds{endpoint}               histogram of whole-request latency
//   recurrent_first_token_seconds                     histogram of generate's time to first token
// and per model ({model="NAME"}, one series for every model served):
//   recurrent_generated_tokens_total                  counter (tokens/s: its rate())
//   recurrent_batch_steps_total, recurrent_batch_rows_total   engine steps and the rows they carried
//   recurrent_score_batches_total, recurrent_score_rows_total  batched score passes and the texts in them
//   recurrent_queue_depth                             gauge: requests admitted and waiting for the model
//   recurrent_batch_size                              gauge: rows of the model's last generation step
//   recurrent_active_generations, recurrent_sessions  gauges (language models)
//   recurrent_audio_sessions                          gauge (speech models' streaming sessions)
// Thread-safe; every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace recurrent::serve {

// One model's counters and gauges; an engine keeps a reference (it lives as long as the Metrics).
struct ModelMetrics {
  std::string task;  // lm, classify, tag, translate, forecast, asr: which series it prints
  std::atomic<int64_t> queue_depth{0}, active{0}, batch_size{0}, sessions{0}, audio_sessions{0};
  std::atomic<int64_t> tokens{0}, steps{0}, rows{0}, score_batches{0}, score_rows{0};
  void batch_step(int64_t n) { ++steps, rows += n, batch_size = n; }
  void score_batch(int64_t n) { ++score_batches, score_rows += n; }
};

class Metrics {
 public:
  void request(const std::string& endpoint, int status, double seconds);
  void first_token(double seconds);
  ModelMetrics& model(const std::string& name, const std::string& task);  // created on first use
  std::string prometheus() const;

  static constexpr std::array<double, 14> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,    10,  30};
  struct Histogram {
    std::array<int64_t, kBuckets.size()> le{};  // per bucket (not cumulative; summed when printed)
    int64_t count = 0;
    double sum = 0;
    void add(double s);
  };

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram ttft_;
  std::map<std::string, std::unique_ptr<ModelMetrics>> models_;  // by name (addresses stay put)
};

}  // namespace recurrent::serve
