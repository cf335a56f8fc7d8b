// Issue 26, acceptance 3: one server receives every kind of bad request — malformed JSON, wrong
// types, unknown fields, a 100 MB body, invalid UTF-8, negative and huge numbers, an unknown model,
// a missing or wrong API key, a slow client that stops mid-request — each answered with its 4xx and
// a one-line JSON reason; then a good request still succeeds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>

#include "serve_fixture.h"

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

// A client that sends the start of a request and then nothing: the server must give up on it after
// its read timeout (1 s here) and answer or close, without waiting for the rest. Returns what came back.
std::string slow_client(int port, double& seconds) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string part = "POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key\r\n"
                           "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\": ";
  EXPECT_EQ(::send(fd, part.data(), part.size(), 0), static_cast<ssize_t>(part.size()));
  const auto t0 = std::chrono::steady_clock::now();
  std::string got;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {  // ≤ 10 s
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed
    got.append(buf, static_cast<size_t>(n));
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  return got;
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
  double seconds = 0;
  const std::string slow = slow_client(s.port(), seconds);
  EXPECT_LT(seconds, 5.0) << "the slow client was held " << seconds << " s";
  EXPECT_TRUE(slow.empty() || slow.rfind("HTTP/1.1 4", 0) == 0) << slow;
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
}
