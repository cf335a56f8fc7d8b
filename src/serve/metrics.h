// serve/metrics.h — what `GET /metrics` reports, in the Prometheus text format (version 0.0.4):
//   recurrent_requests_total{endpoint, status}        counter
//   recurrent_request_seconds{endpoint}               histogram of whole-request latency
//   recurrent_first_token_seconds                     histogram of generate's time to first token
//   recurrent_generated_tokens_total                  counter (tokens/s: its rate())
//   recurrent_batch_steps_total, recurrent_batch_rows_total   engine steps and the rows they carried
//   recurrent_score_batches_total, recurrent_score_rows_total  batched score passes and the texts in them
//   recurrent_queue_depth, recurrent_active_generations, recurrent_sessions    gauges
//   recurrent_audio_sessions                          gauge (speech models' streaming sessions)
// Thread-safe; every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace recurrent::serve {

class Metrics {
 public:
  void request(const std::string& endpoint, int status, double seconds);
  void first_token(double seconds);
  void tokens(int64_t n) { tokens_ += n; }
  void batch_step(int64_t rows) { ++steps_, rows_ += rows; }
  void score_batch(int64_t rows) { ++score_batches_, score_rows_ += rows; }
  std::atomic<int64_t> queue_depth{0}, active{0}, sessions{0}, audio_sessions{0};
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
  std::atomic<int64_t> tokens_{0}, steps_{0}, rows_{0}, score_batches_{0}, score_rows_{0};
};

}  // namespace recurrent::serve
