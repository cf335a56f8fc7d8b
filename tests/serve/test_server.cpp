// `recurrent serve` over HTTP, in process on 127.0.0.1 and a free port (issue 26):
//   acceptance 2 — a seeded generate returns exactly what `recurrent sample` prints with that seed
//   (alone, and while batched with other generations), score equals `recurrent score --json`, a
//   session fed in 10 pieces gives the result of one call, and generates from its state what
//   `recurrent sample` primed with its text prints; streaming (SSE) gives the same tokens;
//   acceptance 3 — every bad request gets its 4xx and a one-line reason, and the server stays up;
//   limits — 429 with Retry-After beyond the batch and queue, stop strings.
#include <algorithm>
#include <cmath>
#include <future>

#include "serve_fixture.h"

using namespace recurrent::testing;
using nlohmann::json;

namespace {

// `recurrent sample` stdout without its final newline.
std::string cli_sample(const std::string& args) {
  const CmdResult r = run("sample --model " + tiny_lm() + " --threads 1 " + args);
  EXPECT_EQ(r.status, 0) << r.out;
  return r.out.empty() ? r.out : r.out.substr(0, r.out.size() - 1);
}

// prime + generated text of a generate request.
std::string served(httplib::Client& c, const json& body) {
  const Reply r = post(c, "/v1/generate", body.dump());
  EXPECT_EQ(r.status, 200) << r.raw;
  if (r.status != 200) return "";
  return r.body.value("prime", "") + r.body.value("text", "");
}

}  // namespace

TEST(ServeHttp, GenerateEqualsSampleAloneAndBatched) {
  RunningServer s(tiny_options());
  auto c = s.client();
  EXPECT_EQ(served(*c, {{"prime", "Call me"}, {"length", 60}, {"temperature", 0.8}, {"seed", 7}}),
            cli_sample("--prime 'Call me' --length 60 --temperature 0.8 --seed 7"));
  EXPECT_EQ(served(*c, {{"length", 40}, {"top_k", 5}, {"top_p", 0.9}, {"seed", 3}}),
            cli_sample("--length 40 --top-k 5 --top-p 0.9 --seed 3"));
  EXPECT_EQ(served(*c, {{"prime", "The"}, {"length", 30}, {"temperature", 0}}),
            cli_sample("--prime The --length 30 --temperature 0"));
  EXPECT_EQ(served(*c, {{"prime", "The"}, {"length", 12}, {"beam", 3}}), cli_sample("--prime The --length 12 --beam 3"));
  // The same prime again (its state and log-probs reused by the engine): still sample's text.
  EXPECT_EQ(served(*c, {{"prime", "The"}, {"length", 30}, {"seed", 5}}), cli_sample("--prime The --length 30 --seed 5"));
  EXPECT_EQ(served(*c, {{"prime", "The"}, {"length", 30}, {"seed", 6}}), cli_sample("--prime The --length 30 --seed 6"));
  // Six generations at once (different primes, lengths and seeds) share the batch's steps.
  std::vector<std::future<std::string>> got;
  for (int i = 0; i < 6; ++i)
    got.push_back(std::async(std::launch::async, [&s, i] {
      auto ci = s.client();
      return served(*ci, {{"prime", i % 2 ? "Ahab" : ""}, {"length", 80 + 10 * i}, {"seed", 100 + i}});
    }));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(got[i].get(), cli_sample(std::string("--prime '") + (i % 2 ? "Ahab" : "") + "' --length " +
                                       std::to_string(80 + 10 * i) + " --seed " + std::to_string(100 + i)))
        << "generation " << i;
  const auto m = c->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("recurrent_batch_rows_total"), std::string::npos);
}

TEST(ServeHttp, StreamedTokensMakeTheSameText) {
  RunningServer s(tiny_options());
  auto c = s.client();
  const json body = {{"prime", "Sea"}, {"length", 25}, {"seed", 11}};
  const std::string whole = served(*c, body);
  httplib::Request req;
  req.method = "POST", req.path = "/v1/generate";
  json sb = body;
  sb["stream"] = true;
  req.body = sb.dump();
  req.set_header("Content-Type", "application/json");
  std::string raw;
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    raw.append(d, n);
    return true;
  };
  auto res = c->send(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  std::string text, reason;
  int events = 0;
  for (size_t p = 0; (p = raw.find("data: ", p)) != std::string::npos; ++events) {
    const size_t e = raw.find("\n\n", p);
    ASSERT_NE(e, std::string::npos);
    const json j = json::parse(raw.substr(p + 6, e - p - 6));
    if (j.contains("token")) text += j["token"].get<std::string>();
    if (j.contains("finish_reason")) reason = j["finish_reason"];
    p = e;
  }
  EXPECT_EQ(events, 26);  // one per token, then the end
  EXPECT_EQ(reason, "length");
  EXPECT_EQ("Sea" + text, whole);
}

TEST(ServeHttp, ScoreAndSessionsMatchTheCli) {
  RunningServer s(tiny_options());
  auto c = s.client();
  const std::string text = "Call me Ishmael. Some years ago, never mind how long precisely";
  const Reply r = post(*c, "/v1/score", json{{"text", text}}.dump());
  ASSERT_EQ(r.status, 200) << r.raw;
  const CmdResult cli = run("score --json --threads 1 --model " + tiny_lm() + " '" + text + "'");
  ASSERT_EQ(cli.status, 0) << cli.out;
  const json want = json::parse(cli.out);
  EXPECT_EQ(r.body["log_prob"].get<double>(), want["log_prob"].get<double>());
  EXPECT_EQ(r.body["tokens"], want["tokens"]);
  // The same text in 10 pieces through one session: the same total, token by token.
  const Reply open = post(*c, "/v1/sessions", R"({"model": "tiny"})");
  ASSERT_EQ(open.status, 201) << open.raw;
  const std::string sid = open.body["session"];
  double total = 0;
  json tokens = json::array();
  const size_t n = text.size();
  int pieces = 0;
  for (size_t k = 0; k < 10; ++k, ++pieces) {
    const size_t at = k * n / 10, end = (k + 1) * n / 10;
    const Reply f = post(*c, "/v1/sessions/" + sid + "/score", json{{"text", text.substr(at, end - at)}}.dump());
    ASSERT_EQ(f.status, 200) << f.raw;
    for (auto& t : f.body["tokens"]) tokens.push_back(t);
    total = f.body["total_log_prob"];
  }
  EXPECT_EQ(pieces, 10);
  EXPECT_NEAR(total, want["log_prob"].get<double>(), 1e-6 * std::abs(total));
  ASSERT_EQ(tokens.size(), want["tokens"].size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(tokens[i]["token"], want["tokens"][i]["token"]);
    EXPECT_NEAR(tokens[i]["prob"].get<double>(), want["tokens"][i]["prob"].get<double>(), 1e-6);
  }
  auto del = c->Delete(("/v1/sessions/" + sid).c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(post(*c, "/v1/sessions/" + sid + "/score", R"({"text": "a"})").status, 404);
}

// A session's state carried between calls: fed in 10 pieces or in one call, it generates (seeded)
// exactly what `recurrent sample` primed with the same text prints; generating does not move it.
TEST(ServeHttp, SessionGeneratesAsSamplePrimedWithItsText) {
  RunningServer s(tiny_options());
  auto c = s.client();
  const std::string text = "Call me Ishmael. Some years ago";
  auto open = [&] {
    const Reply o = post(*c, "/v1/sessions", "{}");
    EXPECT_EQ(o.status, 201) << o.raw;
    return o.body.value("session", "");
  };
  const std::string ten = open(), one = open();
  for (size_t k = 0; k < 10; ++k) {
    const size_t at = k * text.size() / 10, end = (k + 1) * text.size() / 10;
    EXPECT_EQ(post(*c, "/v1/sessions/" + ten + "/score", json{{"text", text.substr(at, end - at)}}.dump()).status, 200);
  }
  EXPECT_EQ(post(*c, "/v1/sessions/" + one + "/score", json{{"text", text}}.dump()).status, 200);
  const std::string want = cli_sample("--prime '" + text + "' --length 60 --temperature 0.8 --seed 7");
  for (const std::string& sid : {ten, one}) {
    const Reply r = post(*c, "/v1/sessions/" + sid + "/generate", R"({"length": 60, "temperature": 0.8, "seed": 7})");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(text + r.body.value("text", ""), want) << sid;
    EXPECT_EQ(r.body.value("session", ""), sid);
  }
  // Streamed, the same text; then the sessions go on from their own text, not the generated one.
  const Reply ev = post(*c, "/v1/sessions/" + ten + "/generate", R"({"length": 60, "temperature": 0.8, "seed": 7, "stream": true})");
  ASSERT_EQ(ev.status, 200);
  const std::string last = ev.raw.substr(ev.raw.rfind("data: ") + 6);
  EXPECT_EQ(text + json::parse(last).value("text", ""), want) << ev.raw;
  const std::string more = ", never mind how long precisely";
  const CmdResult cli = run("score --json --threads 1 --model " + tiny_lm() + " '" + text + more + "'");
  ASSERT_EQ(cli.status, 0) << cli.out;
  const double whole = json::parse(cli.out)["log_prob"].get<double>();
  for (const std::string& sid : {ten, one}) {
    const Reply f = post(*c, "/v1/sessions/" + sid + "/score", json{{"text", more}}.dump());
    ASSERT_EQ(f.status, 200) << f.raw;
    EXPECT_NEAR(f.body["total_log_prob"].get<double>(), whole, 1e-6 * std::abs(whole)) << sid;
  }
  const Reply bad = post(*c, "/v1/sessions/" + ten + "/generate", R"({"prime": "x"})");
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_NE(bad.body.value("error", "").find("unknown field \"prime\""), std::string::npos) << bad.raw;
  ASSERT_TRUE(c->Delete(("/v1/sessions/" + ten).c_str()));
  EXPECT_EQ(post(*c, "/v1/sessions/" + ten + "/generate", "{}").status, 404);
}

TEST(ServeHttp, StopStringsEndTheText) {
  RunningServer s(tiny_options());
  auto c = s.client();
  const std::string full = served(*c, {{"length", 200}, {"seed", 5}});
  const size_t e = full.find('e');
  ASSERT_NE(e, std::string::npos) << full;
  const Reply r = post(*c, "/v1/generate", json{{"length", 200}, {"seed", 5}, {"stop", {"e"}}}.dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["text"], full.substr(0, e));
  EXPECT_EQ(r.body["finish_reason"], "stop");
}

TEST(ServeHttp, BusyGets429WithRetryAfter) {
  recurrent::serve::ServeOptions o = tiny_options();
  o.engine.max_batch = 1, o.engine.max_queue = 0;
  o.request.max_tokens = 20000;
  RunningServer s(o);
  // Eight long generations at once: one row, no queue — the ones that find it taken get 429.
  std::vector<std::future<Reply>> got;
  for (int i = 0; i < 8; ++i)
    got.push_back(std::async(std::launch::async, [&s] {
      auto c = s.client();
      c->set_read_timeout(120, 0);  // the one admitted runs 20,000 tokens: ~20 s in the sanitizer build under load
      return post(*c, "/v1/generate", R"({"length": 20000})");
    }));
  int ok = 0, busy = 0;
  for (auto& f : got) {
    const Reply r = f.get();
    if (r.status == 200) ++ok;
    if (r.status != 429) continue;
    ++busy;
    EXPECT_EQ(r.retry_after, "1");
    EXPECT_NE(r.body.value("error", "").find("too many requests"), std::string::npos) << r.raw;
  }
  EXPECT_EQ(ok + busy, 8) << "only 200 and 429";
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  auto c = s.client();
  EXPECT_EQ(post(*c, "/v1/generate", R"({"length": 5})").status, 200);  // free again
}
