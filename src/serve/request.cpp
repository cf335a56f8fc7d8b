// Strict parsing of the request bodies (contract in serve/request.h).
#include "serve/request.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace recurrent::serve {

namespace {

using nlohmann::json;

struct Refused {  // thrown inside this file only; parse_request turns it into an ApiError
  ApiError e;
};
[[noreturn]] void refuse(const std::string& msg, int status = 400) { throw Refused{{status, msg}}; }

const char* type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// Deepest nesting of [ and { outside strings; stops counting past `cap` (the parser never sees it).
int nesting_depth(std::string_view s, int cap) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if ((deepest = std::max(deepest, ++depth)) > cap) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// The object's fields, each read at most once; unknown ones refused by name.
class Fields {
 public:
  Fields(const json& o, std::initializer_list<const char*> known) : o_(o) {
    if (!o.is_object()) refuse(std::string("expected a JSON object, got ") + type_name(o));
    std::string names;
    for (const char* k : known) names += std::string(names.empty() ? "" : ", ") + k;
    for (auto it = o.begin(); it != o.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) refuse("unknown field \"" + printable(it.key()) + "\" (expected: " + names + ")");
    }
  }
  const json* get(const char* k) const {
    auto it = o_.find(k);
    return it == o_.end() ? nullptr : &*it;
  }
  std::string str(const char* k, bool required, const std::string& dflt = "") const {
    const json* v = get(k);
    if (!v) {
      if (required) refuse(std::string("missing field \"") + k + "\" (a string)");
      return dflt;
    }
    if (!v->is_string()) refuse(field(k) + "expected a string, got " + type_name(*v));
    return v->get<std::string>();
  }
  int64_t integer(const char* k, int64_t dflt, int64_t lo, int64_t hi) const {
    const json* v = get(k);
    if (!v) return dflt;
    if (!v->is_number_integer()) refuse(field(k) + "expected an integer in [" + std::to_string(lo) + ", " +
                                        std::to_string(hi) + "], got " + type_name(*v));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
      refuse(field(k) + "expected at most " + std::to_string(hi) + ", got " + v->dump());
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi)
      refuse(field(k) + "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
             std::to_string(x));
    return x;
  }
  uint64_t seed(const char* k, uint64_t dflt) const {
    const json* v = get(k);
    if (!v) return dflt;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
      refuse(field(k) + "expected an integer from 0 to 2^64-1, got " +
             (v->is_number() ? v->dump() : std::string(type_name(*v))));
    return v->get<uint64_t>();
  }
  double real(const char* k, double dflt, double lo, double hi, const char* range) const {
    const json* v = get(k);
    if (!v) return dflt;
    if (!v->is_number()) refuse(field(k) + "expected a number " + range + ", got " + type_name(*v));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) refuse(field(k) + "expected a number " + range + ", got " + v->dump());
    return x;
  }
  bool flag(const char* k, bool dflt) const {
    const json* v = get(k);
    if (!v) return dflt;
    if (!v->is_boolean()) refuse(field(k) + "expected true or false, got " + type_name(*v));
    return v->get<bool>();
  }
  bool has(const char* k) const { return get(k) != nullptr; }
  static std::string field(const char* k) { return std::string("field \"") + k + "\": "; }
  // Keys are valid UTF-8 (checked before parsing); long ones are cut for the message.
  static std::string printable(const std::string& s) {
    std::string t = s.size() > 40 ? s.substr(0, 40) + "..." : s;
    for (char& c : t)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || static_cast<unsigned char>(c) >= 0x80)
        c = '?';
    return t;
  }

 private:
  const json& o_;
};

// session: POST /v1/sessions/ID/generate, which goes on from the session's text (no model, prime, beam).
GenerateRequest generate_request(const json& body, const RequestLimits& lim, bool session) {
  const Fields f = session ? Fields(body, {"length", "temperature", "top_k", "top_p", "seed", "stop", "stream"})
                           : Fields(body, {"model", "prime", "length", "temperature", "top_k", "top_p", "seed", "beam",
                                           "stop", "stream"});
  GenerateRequest r;
  tasks::SampleOptions& o = r.sample;
  r.model = f.str("model", false);
  o.prime = f.str("prime", false);
  o.length = f.integer("length", std::min<int64_t>(200, lim.max_tokens), 0, lim.max_tokens);
  o.temperature = f.real("temperature", 1.0, 0.0, 1e6, "in [0, 1e6] (0: greedy)");
  o.top_k = f.integer("top_k", 0, 0, 1 << 20);
  o.top_p = f.real("top_p", 1.0, std::numeric_limits<double>::min(), 1.0, "in (0, 1]");
  o.seed = f.seed("seed", 1);
  o.beam = f.integer("beam", 0, 0, lim.max_beam);
  r.stream = f.flag("stream", false);
  if (o.beam > 0)
    for (const char* k : {"temperature", "top_k", "top_p"})
      if (f.has(k)) refuse(Fields::field(k) + "applies to sampling; \"beam\" searches deterministically");
  if (f.has("temperature") && o.temperature == 0) {  // greedy, as `recurrent sample --temperature 0`
    for (const char* k : {"top_k", "top_p"})
      if (f.has(k)) refuse(Fields::field(k) + "does not apply to greedy decoding (temperature 0)");
    o.temperature = 1.0, o.top_k = 1;
  }
  if (const json* s = f.get("stop")) {
    if (!s->is_array()) refuse(Fields::field("stop") + "expected an array of strings, got " + type_name(*s));
    if (static_cast<int64_t>(s->size()) > lim.max_stops)
      refuse(Fields::field("stop") + "at most " + std::to_string(lim.max_stops) + " strings");
    for (const json& x : *s) {
      if (!x.is_string()) refuse(Fields::field("stop") + "expected strings, got " + type_name(x));
      const std::string t = x.get<std::string>();
      if (t.empty() || t.size() > lim.max_stop_bytes)
        refuse(Fields::field("stop") + "each string 1 to " + std::to_string(lim.max_stop_bytes) + " bytes");
      r.stop.push_back(t);
    }
  }
  return r;
}

TextRequest text_request(const json& body, bool translate) {
  TextRequest r;
  if (translate) {
    Fields f(body, {"model", "text", "beam"});
    r.model = f.str("model", false), r.text = f.str("text", true), r.beam = f.integer("beam", 0, 0, 64);
  } else {
    Fields f(body, {"model", "text"});
    r.model = f.str("model", false), r.text = f.str("text", true);
  }
  if (r.text.empty()) refuse(Fields::field("text") + "expected a non-empty string");
  return r;
}

ForecastRequest forecast_request(const json& body) {
  Fields f(body, {"model", "history", "horizon"});
  ForecastRequest r;
  r.model = f.str("model", false);
  r.horizon = f.integer("horizon", 0, 1, 10000);
  const json* h = f.get("history");
  if (!h) refuse("missing field \"history\" (an array of numbers, or of rows of numbers)");
  if (!h->is_array() || h->empty()) refuse(Fields::field("history") + "expected a non-empty array");
  for (const json& row : *h) {
    std::vector<double> v;
    auto number = [&](const json& x) {
      if (!x.is_number()) refuse(Fields::field("history") + "expected numbers, got " + type_name(x));
      v.push_back(x.get<double>());
      if (!std::isfinite(v.back())) refuse(Fields::field("history") + "expected finite numbers, got " + x.dump());
    };
    if (row.is_array())
      for (const json& x : row) number(x);
    else
      number(row);
    if (!r.history.empty() && v.size() != r.history[0].size())
      refuse(Fields::field("history") + "every row needs the same number of values");
    if (v.empty()) refuse(Fields::field("history") + "empty row");
    r.history.push_back(std::move(v));
  }
  return r;
}

// "%41" → 'A', '+' → ' '; a bad escape is refused.
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] != '%') out += s[i];
    else if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0)
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])), i += 2;
    else refuse("query: a '%' must start an escape of two hexadecimal digits");
  }
  if (std::string p = utf8_problem(out); !p.empty()) refuse("query: " + p);
  return out;
}

// "model=x&beam=2" → the audio request; every key known and given once, beam an integer in [1, 64].
AudioRequest audio_request(std::string_view query, bool beam_allowed) {
  AudioRequest r;
  std::set<std::string> seen;
  const std::string expected = beam_allowed ? "model, beam" : "model";
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (!seen.insert(key).second) refuse("query parameter \"" + Fields::printable(key) + "\" given twice");
    if (key == "model") {
      r.model = value;
    } else if (key == "beam" && beam_allowed) {
      const bool digits = !value.empty() && value.size() <= 2 && value.find_first_not_of("0123456789") == std::string::npos;
      r.beam = digits ? std::stoi(value) : 0;
      if (r.beam < 1 || r.beam > 64)
        refuse("query parameter \"beam\": expected an integer in [1, 64], got \"" + Fields::printable(value) + "\"");
    } else {
      refuse("unknown query parameter \"" + Fields::printable(key) + "\" (expected: " + expected + ")");
    }
  }
  return r;
}

ParsedRequest parse_json(RequestKind kind, const json& body, const RequestLimits& lim) {
  switch (kind) {
    case RequestKind::generate: return generate_request(body, lim, false);
    case RequestKind::session_generate: return generate_request(body, lim, true);
    case RequestKind::score: {
      Fields f(body, {"model", "text"});
      ScoreRequest r{f.str("model", false), f.str("text", true)};
      if (r.text.empty()) refuse(Fields::field("text") + "expected a non-empty string");
      return r;
    }
    case RequestKind::session_open: {
      Fields f(body, {"model"});
      return SessionOpenRequest{f.str("model", false)};
    }
    case RequestKind::session_feed: {
      Fields f(body, {"text"});
      SessionFeedRequest r{f.str("text", true)};
      if (r.text.empty()) refuse(Fields::field("text") + "expected a non-empty string");
      return r;
    }
    case RequestKind::classify:
    case RequestKind::tag: return text_request(body, false);
    case RequestKind::translate: return text_request(body, true);
    case RequestKind::forecast: return forecast_request(body);
    case RequestKind::transcribe:
    case RequestKind::audio_session_open: break;  // query strings: parse_request
  }
  refuse("unknown request kind", 500);
}

}  // namespace

std::string utf8_problem(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) return "invalid UTF-8 at byte offset " + std::to_string(i);
    i += len;
  }
  return "";
}

ParsedRequest parse_request(RequestKind kind, std::string_view body, const RequestLimits& limits) {
  try {
    if (body.size() > limits.max_body)
      refuse("body of " + std::to_string(body.size()) + " bytes; at most " + std::to_string(limits.max_body), 413);
    if (kind == RequestKind::transcribe || kind == RequestKind::audio_session_open)
      return audio_request(body, kind == RequestKind::transcribe);
    if (std::string p = utf8_problem(body); !p.empty()) refuse("body: " + p);
    if (nesting_depth(body, kMaxDepth) > kMaxDepth)
      refuse("malformed request: JSON nested deeper than " + std::to_string(kMaxDepth));
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) refuse("malformed JSON");
    return parse_json(kind, j, limits);
  } catch (const Refused& r) {
    return r.e;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // nlohmann type errors the checks above should have caught
    return ApiError{400, std::string("bad request: ") + e.what()};
  }
}

}  // namespace recurrent::serve
