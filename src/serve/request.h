// serve/request.h — the JSON bodies of `recurrent serve`'s endpoints, parsed strictly, as a pure
// function of the bytes (no sockets, no model): parse_request(kind, body, limits) returns the parsed
// request or an ApiError (HTTP status + one-line reason). A fuzz harness calls it directly.
//
// Strict: the body must be valid UTF-8 (RFC 3629), at most limits.max_body bytes, nested at most
// kMaxDepth deep, one JSON object; every field known to the endpoint (an unknown one is named in
// the error), of the right type and range (integers must be integers, counts ≥ 0 and ≤ the limits).
// The HTTP status of every refusal is part of the contract (docs/serve.md):
//   400 malformed JSON, wrong type, unknown or missing field, invalid UTF-8, number out of range
//   413 body larger than max_body          (the HTTP layer refuses it before reading it, too)
// The speech endpoints take their audio as the body, raw; their parameters come in the URL's query
// string ("model=NAME&beam=4"), parsed by the same function as strictly (the `body` argument is then
// the query string: percent-decoded, '+' a space, every key known, each at most once).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "recurrent/tasks/lm.h"

namespace recurrent::serve {

struct ApiError {
  int status = 400;
  std::string message;  // one line
};

struct RequestLimits {
  size_t max_body = 1 << 20;       // bytes
  int64_t max_tokens = 2048;       // generate: length ≤ this
  int64_t max_beam = 16;
  int64_t max_stops = 8;           // stop strings per request
  size_t max_stop_bytes = 64;      // each
};
constexpr int kMaxDepth = 16;  // JSON nesting (the bodies need 2)

struct GenerateRequest {
  std::string model;                 // "" → the only model (or the first given)
  tasks::SampleOptions sample;       // prime, length, temperature, top_k, top_p, seed, beam
  std::vector<std::string> stop;     // finish when the generated text contains one (not included)
  bool stream = false;               // server-sent events, one per token
  std::string session;               // POST /v1/sessions/ID/generate (set by the route, not parsed): go on
                                     // from the session's state; no model, prime or beam
};
struct ScoreRequest {
  std::string model;
  std::string text;
};
struct SessionOpenRequest {
  std::string model;
};
struct SessionFeedRequest {  // POST /v1/sessions/ID/score: the next piece of the session's text
  std::string text;
};
struct TextRequest {  // classify, tag, translate: one text (translate: also beam)
  std::string model;
  std::string text;
  int64_t beam = 0;
};
struct ForecastRequest {
  std::string model;
  std::vector<std::vector<double>> history;  // [T][C]: the target, then the model's features (a flat array: C = 1)
  int64_t horizon = 0;                       // 0: the model's horizon
};
struct AudioRequest {  // query of POST /v1/transcribe (beam) and POST /v1/transcribe/sessions (no beam)
  std::string model;
  int64_t beam = 1;   // CTC prefix beam width (1: greedy)
};

enum class RequestKind {
  generate, score, session_open, session_feed, classify, tag, translate, forecast,  // JSON bodies
  transcribe, audio_session_open,                                                   // query strings
  session_generate                                          // JSON: generate's fields but model, prime, beam
};
constexpr int kRequestKinds = 11;
using ParsedRequest = std::variant<ApiError, GenerateRequest, ScoreRequest, SessionOpenRequest, SessionFeedRequest,
                                   TextRequest, ForecastRequest, AudioRequest>;

// bytes (a JSON body, or a query string for transcribe / audio_session_open) → the request or the
// error. Never throws (a bad_alloc aside); never crashes on any input.
ParsedRequest parse_request(RequestKind kind, std::string_view body, const RequestLimits& limits);

// "" when `s` is strict UTF-8; else "invalid UTF-8 at byte offset N".
std::string utf8_problem(std::string_view s);

}  // namespace recurrent::serve
