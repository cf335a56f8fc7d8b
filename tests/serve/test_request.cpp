// serve/request.h: the pure request parser — every bad body of issue 26's acceptance 3 gets its 4xx
// and a one-line reason naming what was wrong; good bodies give the options `recurrent sample` uses.
#include <gtest/gtest.h>

#include <string>

#include "serve/request.h"

using namespace recurrent::serve;

namespace {

ApiError refused(RequestKind k, const std::string& body, const RequestLimits& lim = {}) {
  ParsedRequest p = parse_request(k, body, lim);
  EXPECT_TRUE(std::holds_alternative<ApiError>(p)) << body;
  return std::holds_alternative<ApiError>(p) ? std::get<ApiError>(p) : ApiError{0, ""};
}

void expect_refused(RequestKind k, const std::string& body, int status, const std::string& want) {
  const ApiError e = refused(k, body);
  EXPECT_EQ(e.status, status) << body << ": " << e.message;
  EXPECT_NE(e.message.find(want), std::string::npos) << body << "\n  expected: " << want << "\n  got: " << e.message;
  EXPECT_EQ(e.message.find('\n'), std::string::npos) << e.message;
}

}  // namespace

TEST(ServeRequest, GenerateDefaultsAndFields) {
  ParsedRequest p = parse_request(RequestKind::generate,
                                  R"({"prime": "Call me", "length": 30, "temperature": 0.8, "top_k": 5,
                                      "top_p": 0.9, "seed": 18446744073709551615, "stop": ["\n"], "stream": true})",
                                  {});
  ASSERT_TRUE(std::holds_alternative<GenerateRequest>(p));
  const GenerateRequest& g = std::get<GenerateRequest>(p);
  EXPECT_EQ(g.sample.prime, "Call me");
  EXPECT_EQ(g.sample.length, 30);
  EXPECT_DOUBLE_EQ(g.sample.temperature, 0.8);
  EXPECT_EQ(g.sample.top_k, 5);
  EXPECT_DOUBLE_EQ(g.sample.top_p, 0.9);
  EXPECT_EQ(g.sample.seed, 18446744073709551615ull);
  EXPECT_EQ(g.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(g.stream);
  // temperature 0 is greedy, as `recurrent sample --temperature 0`: temperature 1 and top-k 1
  p = parse_request(RequestKind::generate, R"({"temperature": 0})", {});
  ASSERT_TRUE(std::holds_alternative<GenerateRequest>(p));
  EXPECT_EQ(std::get<GenerateRequest>(p).sample.top_k, 1);
  EXPECT_EQ(std::get<GenerateRequest>(p).sample.temperature, 1.0);
  EXPECT_EQ(std::get<GenerateRequest>(p).sample.seed, 1u);
}

TEST(ServeRequest, MalformedJsonAndWrongShapes) {
  expect_refused(RequestKind::score, R"({"text": "a")", 400, "malformed JSON");
  expect_refused(RequestKind::score, "", 400, "malformed JSON");
  expect_refused(RequestKind::score, R"(["text"])", 400, "expected a JSON object");
  expect_refused(RequestKind::score, R"({"text": 5})", 400, "field \"text\": expected a string");
  expect_refused(RequestKind::score, R"({})", 400, "missing field \"text\"");
  expect_refused(RequestKind::score, R"({"text": ""})", 400, "non-empty");
  expect_refused(RequestKind::generate, R"({"length": "10"})", 400, "field \"length\": expected an integer");
  expect_refused(RequestKind::generate, R"({"length": 1.5})", 400, "field \"length\": expected an integer");
  expect_refused(RequestKind::generate, R"({"stream": 1})", 400, "field \"stream\": expected true or false");
  expect_refused(RequestKind::generate, R"({"stop": "x"})", 400, "field \"stop\": expected an array");
  expect_refused(RequestKind::generate, R"({"stop": [1]})", 400, "field \"stop\": expected strings");
  std::string deep(10000, '[');
  expect_refused(RequestKind::score, deep, 400, "nested deeper");
}

TEST(ServeRequest, UnknownFieldsAreNamed) {
  expect_refused(RequestKind::score, R"({"text": "a", "temprature": 1})", 400, "unknown field \"temprature\"");
  expect_refused(RequestKind::generate, R"({"prompt": "a"})", 400, "unknown field \"prompt\"");
  expect_refused(RequestKind::session_feed, R"({"text": "a", "model": "m"})", 400, "unknown field \"model\"");
}

TEST(ServeRequest, NumbersOutOfRange) {
  expect_refused(RequestKind::generate, R"({"length": -1})", 400, "field \"length\": expected an integer in [0, 2048]");
  expect_refused(RequestKind::generate, R"({"length": 100000000000000000000})", 400, "field \"length\"");
  expect_refused(RequestKind::generate, R"({"length": 2049})", 400, "field \"length\"");
  expect_refused(RequestKind::generate, R"({"temperature": -0.5})", 400, "field \"temperature\"");
  expect_refused(RequestKind::generate, R"({"temperature": 1e400})", 400, "malformed JSON");
  expect_refused(RequestKind::generate, R"({"top_p": 0})", 400, "field \"top_p\"");
  expect_refused(RequestKind::generate, R"({"top_p": 1.5})", 400, "field \"top_p\"");
  expect_refused(RequestKind::generate, R"({"top_k": -3})", 400, "field \"top_k\"");
  expect_refused(RequestKind::generate, R"({"seed": -1})", 400, "field \"seed\"");
  expect_refused(RequestKind::generate, R"({"beam": 100})", 400, "field \"beam\"");
  expect_refused(RequestKind::generate, R"({"beam": 2, "top_k": 3})", 400, "field \"top_k\": applies to sampling");
  expect_refused(RequestKind::generate, R"({"temperature": 0, "top_p": 0.5})", 400, "greedy");
  expect_refused(RequestKind::forecast, R"({"history": [1, [2, 3]]})", 400, "field \"history\": every row");
}

TEST(ServeRequest, BodySizeAndUtf8) {
  RequestLimits lim;
  lim.max_body = 1000;
  const ApiError big = refused(RequestKind::score, R"({"text": ")" + std::string(2000, 'a') + "\"}", lim);
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.message.find("at most 1000"), std::string::npos) << big.message;
  expect_refused(RequestKind::score, "{\"text\": \"ab\xff\"}", 400, "invalid UTF-8 at byte offset 12");
  expect_refused(RequestKind::score, "{\"text\": \"\xed\xa0\x80\"}", 400, "invalid UTF-8");  // a surrogate
  expect_refused(RequestKind::score, "{\"text\": \"\xc0\xaf\"}", 400, "invalid UTF-8");      // overlong '/'
  EXPECT_EQ(utf8_problem("caf\xc3\xa9 \xf0\x9f\x90\x8b"), "");
  EXPECT_EQ(utf8_problem("\xf4\x90\x80\x80"), "invalid UTF-8 at byte offset 0");  // above U+10FFFF
  EXPECT_EQ(utf8_problem("ab\xe2\x82"), "invalid UTF-8 at byte offset 2");       // truncated
}

TEST(ServeRequest, NeverThrowsOnOddBytes) {
  // A small deterministic sweep of byte strings around valid bodies (the fuzz harness goes further).
  const std::string base = R"({"prime": "a", "length": 3, "stop": ["x"], "temperature": 0.5})";
  int answered = 0;
  for (size_t i = 0; i < base.size(); ++i)
    for (int c : {0, int('"'), int('{'), int(']'), int('\\'), 0x80, 0xff, int('9'), int('-')}) {
      std::string s = base;
      s[i] = static_cast<char>(c);
      for (RequestKind k : {RequestKind::generate, RequestKind::score, RequestKind::forecast}) {
        ParsedRequest p = parse_request(k, s, {});
        if (auto* e = std::get_if<ApiError>(&p)) {
          EXPECT_TRUE(e->status == 400 || e->status == 413) << s;
        }
        ++answered;
      }
    }
  EXPECT_EQ(answered, static_cast<int>(base.size()) * 9 * 3);
}

TEST(ServeRequest, ForecastHorizonAndFiniteHistory) {
  ParsedRequest p = parse_request(RequestKind::forecast, R"({"history": [[1, 2], [3, 4.5]]})", {});
  ASSERT_TRUE(std::holds_alternative<ForecastRequest>(p));
  EXPECT_EQ(std::get<ForecastRequest>(p).horizon, 0);  // the model's
  EXPECT_EQ(std::get<ForecastRequest>(p).history, (std::vector<std::vector<double>>{{1, 2}, {3, 4.5}}));
  p = parse_request(RequestKind::forecast, R"({"history": [1, 2, 3], "horizon": 2})", {});
  ASSERT_TRUE(std::holds_alternative<ForecastRequest>(p));
  EXPECT_EQ(std::get<ForecastRequest>(p).history, (std::vector<std::vector<double>>{{1}, {2}, {3}}));
  EXPECT_EQ(std::get<ForecastRequest>(p).horizon, 2);
  expect_refused(RequestKind::forecast, R"({"history": [1], "horizon": 0})", 400, "field \"horizon\"");
  expect_refused(RequestKind::forecast, R"({"history": []})", 400, "field \"history\": expected a non-empty array");
  expect_refused(RequestKind::forecast, R"({"history": [1, "2"]})", 400, "field \"history\": expected numbers");
  expect_refused(RequestKind::forecast, R"({"horizon": 2})", 400, "missing field \"history\"");
  expect_refused(RequestKind::forecast, R"({"history": [1], "values": [2]})", 400, "unknown field \"values\"");
}

TEST(ServeRequest, AudioQueries) {
  ParsedRequest p = parse_request(RequestKind::transcribe, "model=my%20digits&beam=8", {});
  ASSERT_TRUE(std::holds_alternative<AudioRequest>(p));
  EXPECT_EQ(std::get<AudioRequest>(p).model, "my digits");
  EXPECT_EQ(std::get<AudioRequest>(p).beam, 8);
  p = parse_request(RequestKind::transcribe, "", {});
  ASSERT_TRUE(std::holds_alternative<AudioRequest>(p));
  EXPECT_EQ(std::get<AudioRequest>(p).model, "");
  EXPECT_EQ(std::get<AudioRequest>(p).beam, 1);
  p = parse_request(RequestKind::audio_session_open, "model=a+b", {});
  ASSERT_TRUE(std::holds_alternative<AudioRequest>(p));
  EXPECT_EQ(std::get<AudioRequest>(p).model, "a b");
  expect_refused(RequestKind::transcribe, "beam=0", 400, "query parameter \"beam\": expected an integer in [1, 64]");
  expect_refused(RequestKind::transcribe, "beam=65", 400, "query parameter \"beam\"");
  expect_refused(RequestKind::transcribe, "beam=-1", 400, "query parameter \"beam\"");
  expect_refused(RequestKind::transcribe, "beam=99999999999999999999", 400, "query parameter \"beam\"");
  expect_refused(RequestKind::transcribe, "model=a&model=b", 400, "query parameter \"model\" given twice");
  expect_refused(RequestKind::transcribe, "lang=en", 400, "unknown query parameter \"lang\" (expected: model, beam)");
  expect_refused(RequestKind::audio_session_open, "beam=2", 400, "unknown query parameter \"beam\" (expected: model)");
  expect_refused(RequestKind::transcribe, "model=%zz", 400, "query: a '%' must start an escape");
  expect_refused(RequestKind::transcribe, "model=%ff", 400, "query: invalid UTF-8");
}
