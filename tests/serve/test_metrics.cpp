// GET /metrics (issue 26): Prometheus text, and the queue depth and batch series per model — two
// language models served, work on one of them shows on its series only.
#include <regex>
#include <set>
#include <sstream>

#include "serve/metrics.h"
#include "serve_fixture.h"

using namespace recurrent::testing;

namespace {

// Every line is a comment (# HELP / # TYPE, once per metric) or `name{labels} number`.
void expect_prometheus_text(const std::string& text) {
  static const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? [-+0-9.eE]+(Inf)?$)");
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(name).second) << "TYPE twice: " << line;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << "not a Prometheus sample: " << line;
  }
}

// The value of the series `name{model="m"}`; -1 when absent.
double series(const std::string& text, const std::string& name, const std::string& model) {
  const std::string key = name + "{model=\"" + model + "\"} ";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST(ServeMetrics, PerModelSeries) {
  recurrent::serve::Metrics m;
  recurrent::serve::ModelMetrics& a = m.model("a", "lm");
  m.model("b", "lm").batch_step(3);
  a.batch_step(5), a.batch_step(7), ++a.tokens;
  a.queue_depth = 4;
  m.model("digits", "asr").audio_sessions = 2;
  const std::string t = m.prometheus();
  expect_prometheus_text(t);
  EXPECT_EQ(series(t, "recurrent_batch_rows_total", "a"), 12);
  EXPECT_EQ(series(t, "recurrent_batch_steps_total", "a"), 2);
  EXPECT_EQ(series(t, "recurrent_batch_size", "a"), 7);
  EXPECT_EQ(series(t, "recurrent_batch_size", "b"), 3);
  EXPECT_EQ(series(t, "recurrent_queue_depth", "a"), 4);
  EXPECT_EQ(series(t, "recurrent_queue_depth", "b"), 0);
  EXPECT_EQ(series(t, "recurrent_queue_depth", "digits"), 0);
  EXPECT_EQ(series(t, "recurrent_audio_sessions", "digits"), 2);
  EXPECT_EQ(series(t, "recurrent_audio_sessions", "a"), -1) << "a language model has no audio sessions";
  EXPECT_EQ(series(t, "recurrent_batch_rows_total", "digits"), -1) << "a speech model has no generation batch";
}

TEST(ServeMetrics, TwoModelsOverHttp) {
  recurrent::serve::ServeOptions o = tiny_options();
  o.models = {{"one", tiny_lm()}, {"two", tiny_lm()}};
  RunningServer s(o);
  auto c = s.client();
  ASSERT_EQ(post(*c, "/v1/generate", R"({"model": "two", "length": 10, "seed": 3})").status, 200);
  ASSERT_EQ(post(*c, "/v1/score", R"({"model": "one", "text": "Call me"})").status, 200);
  auto r = c->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& t = r->body;
  expect_prometheus_text(t);
  EXPECT_EQ(series(t, "recurrent_generated_tokens_total", "two"), 10) << t;
  EXPECT_EQ(series(t, "recurrent_generated_tokens_total", "one"), 0) << t;
  EXPECT_EQ(series(t, "recurrent_batch_rows_total", "two"), 9) << t;  // the 10th token ends it: no step after
  EXPECT_EQ(series(t, "recurrent_batch_rows_total", "one"), 0) << t;
  EXPECT_EQ(series(t, "recurrent_score_rows_total", "one"), 1) << t;
  EXPECT_EQ(series(t, "recurrent_score_rows_total", "two"), 0) << t;
  for (const char* model : {"one", "two"}) {
    EXPECT_EQ(series(t, "recurrent_queue_depth", model), 0) << model;
    EXPECT_EQ(series(t, "recurrent_active_generations", model), 0) << model;
    EXPECT_EQ(series(t, "recurrent_batch_size", model), 0) << model;
  }
}
