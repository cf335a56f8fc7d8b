// libFuzzer harness: the JSON request bodies of `recurrent serve` (serve/request.h) and the query strings
// of its speech routes. The first byte picks the endpoint (RequestKind), the rest is the body (or the
// query). parse_request's contract is that it never throws and never crashes: any exception escaping
// is a finding, as is an error without a 4xx status or with a message of more than one line.
#include "fuzz_util.h"
#include "serve/request.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto kind = static_cast<serve::RequestKind>(data[0] % serve::kRequestKinds);
  serve::RequestLimits limits;
  limits.max_body = 4096;
  const serve::ParsedRequest r = serve::parse_request(kind, fuzz::as_text(data + 1, size - 1), limits);
  if (const auto* e = std::get_if<serve::ApiError>(&r)) {
    if (e->status < 400 || e->status > 499) fuzz::fail("status " + std::to_string(e->status));
    if (e->message.empty() || e->message.find('\n') != std::string::npos) fuzz::fail("message: " + e->message);
  }
  return 0;
}
