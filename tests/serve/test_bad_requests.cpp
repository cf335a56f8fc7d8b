// Issue 26, acceptance 3: one server receives every kind of bad request — malformed JSON, wrong
// types, unknown fields, a 100 MB body, invalid UTF-8, negative and huge numbers, an unknown model,
// a missing or wrong API key, a slow client that stops mid-request and one that trickles a byte at a
// time (slowloris) — each answered with its 4xx and a one-line JSON reason; then a good request
// still succeeds.
#include <chrono>
#include <fstream>

#include "serve_fixture.h"
#include "slow_client.h"

using namespace recurrent::testing;
using nlohmann::json;

namespace {

const httplib::Headers kKey = {{"Authorization", "Bearer s3cret-key"}};

void expect_error(const Reply& r, int status, const std::string& want, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.raw;
  ASSERT_TRUE(r.body.is_object()) << what << ": " << r.raw;
  const std::string msg = r.body.value("error", "");
  EXPECT_NE(msg.find(want), std::string::npos) << what << "\n  expected: " << want << "\n  got: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

}  // namespace

TEST(ServeBadRequests, EachGetsItsStatusAndTheServerStaysUp) {
  namespace fs = std::filesystem;
  recurrent::serve::ServeOptions o = tiny_options();
  o.api_keys = {"other-key", "s3cret-key"};
  RunningServer s(o);
  auto c = s.client();
  auto bad = [&](const std::string& path, const std::string& body) { return post(*c, path, body, kKey); };
  expect_error(bad("/v1/score", R"({"text": "a")"), 400, "malformed JSON", "malformed");
  expect_error(bad("/v1/score", R"({"text": ["a"]})"), 400, "field \"text\": expected a string", "wrong type");
  expect_error(bad("/v1/generate", R"({"length": "20"})"), 400, "field \"length\": expected an integer", "wrong type");
  expect_error(bad("/v1/generate", R"({"prompt": "x"})"), 400, "unknown field \"prompt\"", "unknown field");
  expect_error(bad("/v1/score", "{\"text\": \"caf\xc3\"}"), 400, "invalid UTF-8 at byte offset", "invalid UTF-8");
  expect_error(bad("/v1/generate", R"({"length": -5})"), 400, "field \"length\"", "negative");
  expect_error(bad("/v1/generate", R"({"length": 99999999999999999999999})"), 400, "field \"length\"", "huge");
  expect_error(bad("/v1/generate", R"({"top_k": 9223372036854775807})"), 400, "field \"top_k\"", "huge");
  expect_error(bad("/v1/generate", R"({"seed": -1})"), 400, "field \"seed\"", "negative seed");
  expect_error(bad("/v1/generate", R"({"temperature": 1e308})"), 400, "field \"temperature\"", "huge real");
  expect_error(bad("/v1/score", R"({"model": "nope", "text": "a"})"), 404, "unknown model \"nope\"", "unknown model");
  expect_error(bad("/v1/nothing", "{}"), 404, "no such endpoint", "unknown path");
  expect_error(bad("/v1/sessions/tiny.0123/score", R"({"text": "a"})"), 404, "no such session", "unknown session");
  // Keys: none, a wrong one, a prefix of a right one — 401 without detail.
  for (const httplib::Headers& h : {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
                                    httplib::Headers{{"X-API-Key", "s3cret"}}}) {
    const Reply r = post(*c, "/v1/score", R"({"text": "a"})", h);
    EXPECT_EQ(r.status, 401) << r.raw;
    EXPECT_EQ(r.body, json({{"error", "unauthorized"}}));
  }
  EXPECT_EQ(post(*c, "/v1/score", R"({"text": "a"})", {{"X-API-Key", "other-key"}}).status, 200);
  // 100 MB: refused from its Content-Length (413); the client may see the connection close instead
  // when the server stops reading, which is also a refusal — never a 2xx.
  {
    auto big = s.client();
    const std::string body = R"({"text": ")" + std::string(100u << 20, 'a') + "\"}";
    auto res = big->Post("/v1/score", kKey, body, "application/json");
    if (res) {
      EXPECT_EQ(res->status, 413) << res->body;
      EXPECT_NE(res->body.find("body too large"), std::string::npos) << res->body;
    }
  }
  // Slow clients (--read-timeout 1 s here: the whole request must arrive within it): one that stops
  // mid-body, one that trickles a header byte every 200 ms (each recv alone would never time out).
  // Both get a 408 with a one-line reason, and the connection is closed.
  const std::string body_start = "POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key\r\n"
                                 "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\": ";
  for (const auto& [start, every] : {std::pair{body_start, 0}, std::pair{trickled_headers(), 200}}) {
    const SlowReply r = slow_request(s.port(), start, std::chrono::milliseconds(every));
    EXPECT_TRUE(r.closed) << "the slow client was held " << r.seconds << " s";
    EXPECT_LT(r.seconds, 4.0) << "the slow client was held " << r.seconds << " s";
    EXPECT_EQ(r.got.rfind("HTTP/1.1 408", 0), 0u) << r.got;
    const size_t body = r.got.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << r.got;
    const json j = json::parse(r.got.substr(body + 4), nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.got;
    const std::string msg = j.value("error", "");
    EXPECT_NE(msg.find("did not arrive whole within 1 s"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // Still up: health and a good request.
  auto h = c->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  const Reply ok = post(*c, "/v1/score", R"({"text": "Call me Ishmael."})", kKey);
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_LT(ok.body.value("log_prob", 0.0), 0.0);
  auto m = c->Get("/metrics", kKey);
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("recurrent_requests_total{endpoint=\"/v1/score\",status=\"400\"}"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("recurrent_requests_total{endpoint=\"other\",status=\"408\"} 2"), std::string::npos) << m->body;
}
