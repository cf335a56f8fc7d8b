// Prometheus text of the server's counters (contract in serve/metrics.h).
#include "serve/metrics.h"

#include <cstdio>
#include <sstream>

namespace recurrent::serve {

void Metrics::Histogram::add(double s) {
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (s <= kBuckets[i]) {
      ++le[i];
      break;
    }
  ++count, sum += s;
}

void Metrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> l(mu_);
  ++requests_[{endpoint, status}];
  latency_[endpoint].add(seconds);
}

void Metrics::first_token(double seconds) {
  std::lock_guard<std::mutex> l(mu_);
  ttft_.add(seconds);
}

namespace {
void print_histogram(std::ostringstream& os, const std::string& name, const std::string& labels,
                     const Metrics::Histogram& h) {
  const std::string sep = labels.empty() ? "" : ",";
  int64_t cum = 0;
  for (size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
    cum += h.le[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", Metrics::kBuckets[i]);
    os << name << "_bucket{" << labels << sep << "le=\"" << le << "\"} " << cum << "\n";
  }
  os << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << h.count << "\n";
  const std::string l = labels.empty() ? "" : "{" + labels + "}";
  os << name << "_sum" << l << " " << h.sum << "\n" << name << "_count" << l << " " << h.count << "\n";
}
}  // namespace

std::string Metrics::prometheus() const {
  std::ostringstream os;
  std::lock_guard<std::mutex> l(mu_);
  os << "# HELP recurrent_requests_total HTTP requests by endpoint and status.\n"
        "# TYPE recurrent_requests_total counter\n";
  for (auto& [k, n] : requests_)
    os << "recurrent_requests_total{endpoint=\"" << k.first << "\",status=\"" << k.second << "\"} " << n << "\n";
  os << "# HELP recurrent_request_seconds Whole-request latency.\n# TYPE recurrent_request_seconds histogram\n";
  for (auto& [e, h] : latency_) print_histogram(os, "recurrent_request_seconds", "endpoint=\"" + e + "\"", h);
  os << "# HELP recurrent_first_token_seconds Generate: time to the first generated token.\n"
        "# TYPE recurrent_first_token_seconds histogram\n";
  print_histogram(os, "recurrent_first_token_seconds", "", ttft_);
  os << "# HELP recurrent_generated_tokens_total Tokens generated.\n# TYPE recurrent_generated_tokens_total counter\n"
     << "recurrent_generated_tokens_total " << tokens_.load() << "\n"
     << "# HELP recurrent_batch_steps_total Batched generation steps (one recurrent step for every row).\n"
        "# TYPE recurrent_batch_steps_total counter\n"
     << "recurrent_batch_steps_total " << steps_.load() << "\n"
     << "# HELP recurrent_batch_rows_total Rows (generations) carried by those steps.\n"
        "# TYPE recurrent_batch_rows_total counter\n"
     << "recurrent_batch_rows_total " << rows_.load() << "\n"
     << "# HELP recurrent_score_batches_total Score passes (every waiting score request in one).\n"
        "# TYPE recurrent_score_batches_total counter\n"
     << "recurrent_score_batches_total " << score_batches_.load() << "\n"
     << "# HELP recurrent_score_rows_total Texts scored by those passes.\n# TYPE recurrent_score_rows_total counter\n"
     << "recurrent_score_rows_total " << score_rows_.load() << "\n"
     << "# HELP recurrent_queue_depth Requests admitted and waiting for the engine.\n# TYPE recurrent_queue_depth gauge\n"
     << "recurrent_queue_depth " << queue_depth.load() << "\n"
     << "# HELP recurrent_active_generations Generations in the batch.\n# TYPE recurrent_active_generations gauge\n"
     << "recurrent_active_generations " << active.load() << "\n"
     << "# HELP recurrent_sessions Open sessions.\n# TYPE recurrent_sessions gauge\n"
     << "recurrent_sessions " << sessions.load() << "\n"
     << "# HELP recurrent_audio_sessions Open audio streaming sessions.\n# TYPE recurrent_audio_sessions gauge\n"
     << "recurrent_audio_sessions " << audio_sessions.load() << "\n";
  return os.str();
}

}  // namespace recurrent::serve
