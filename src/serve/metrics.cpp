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

ModelMetrics& Metrics::model(const std::string& name, const std::string& task) {
  std::lock_guard<std::mutex> l(mu_);
  std::unique_ptr<ModelMetrics>& m = models_[name];
  if (!m) m = std::make_unique<ModelMetrics>(), m->task = task;
  return *m;
}

namespace {
// One metric's HELP and TYPE lines, then its value for every model (of the tasks it applies to).
void per_model(std::ostringstream& os, const char* name, const char* type, const char* help,
               const std::map<std::string, std::unique_ptr<ModelMetrics>>& models,
               const std::atomic<int64_t> ModelMetrics::*field, bool lm_only = false, bool asr_only = false) {
  os << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  for (auto& [model, m] : models) {
    if ((lm_only && m->task != "lm") || (asr_only && m->task != "asr")) continue;
    os << name << "{model=\"" << model << "\"} " << ((*m).*field).load() << "\n";
  }
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
  const auto& m = models_;
  per_model(os, "recurrent_queue_depth", "gauge", "Requests admitted and waiting for the model.", m, &ModelMetrics::queue_depth);
  per_model(os, "recurrent_generated_tokens_total", "counter", "Tokens generated.", m, &ModelMetrics::tokens, true);
  per_model(os, "recurrent_batch_steps_total", "counter", "Batched generation steps (one recurrent step for every row).",
            m, &ModelMetrics::steps, true);
  per_model(os, "recurrent_batch_rows_total", "counter", "Rows (generations) carried by those steps.", m,
            &ModelMetrics::rows, true);
  per_model(os, "recurrent_batch_size", "gauge", "Rows of the last generation step.", m, &ModelMetrics::batch_size, true);
  per_model(os, "recurrent_score_batches_total", "counter", "Score passes (every waiting score request in one).", m,
            &ModelMetrics::score_batches, true);
  per_model(os, "recurrent_score_rows_total", "counter", "Texts scored by those passes.", m, &ModelMetrics::score_rows, true);
  per_model(os, "recurrent_active_generations", "gauge", "Generations in the batch.", m, &ModelMetrics::active, true);
  per_model(os, "recurrent_sessions", "gauge", "Open sessions.", m, &ModelMetrics::sessions, true);
  per_model(os, "recurrent_audio_sessions", "gauge", "Open audio streaming sessions.", m, &ModelMetrics::audio_sessions,
            false, true);
  return os.str();
}

}  // namespace recurrent::serve
