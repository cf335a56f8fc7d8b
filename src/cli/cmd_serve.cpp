// recurrent serve --model DIR [--model NAME=DIR ...] [--host 127.0.0.1] [--port 8080] — an HTTP/1.1 JSON
// API over trained models: language models (score, generate as server-sent events, sessions, with
// continuous batching), classifiers, taggers, encoder-decoders, forecasters and speech models (uploads
// and streaming audio sessions), with limits and API keys (src/serve/, docs/serve.md). Prints "listening on http://HOST:PORT"
// once it accepts connections; SIGTERM or Ctrl-C stops it gracefully (in-flight generations get
// --grace, then end), a second one at once.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/interrupts.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/train/loop.h"
#include "serve/server.h"

namespace recurrent::cli {

namespace {

struct ServeArgs {
  std::vector<std::string> models;
  std::string host = "127.0.0.1", key_file;
  int64_t port = 8080, max_batch = 64, max_queue = 64, max_body = 1 << 20, max_tokens = 2048, max_sessions = 64;
  int64_t http_threads = 0;
  double flush_ms = 10;
  std::string timeout = "60s", session_idle = "5m", read_timeout = "10s", grace = "2s";
};

std::chrono::milliseconds millis(const std::string& s, const std::string& option) {
  return std::chrono::milliseconds(static_cast<int64_t>(train::parse_duration(s, option) * 1000.0));
}

serve::ServeOptions serve_options(const ServeArgs& a) {
  serve::ServeOptions o;
  for (const std::string& m : a.models) {
    const size_t eq = m.find('=');
    std::string name = eq == std::string::npos ? "" : m.substr(0, eq), dir = eq == std::string::npos ? m : m.substr(eq + 1);
    RC_CHECK(eq == std::string::npos || !name.empty(), "--model", "expected DIR or NAME=DIR, got ", m);
    if (name.empty()) name = std::filesystem::path(dir).lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") name = "model";
    RC_CHECK(name.find_first_of("./ ") == std::string::npos, "--model", "a model name may not hold '.', '/' or a space: ",
             name, " (give NAME=DIR)");
    o.models.push_back({name, dir});
  }
  o.host = a.host, o.port = static_cast<int>(a.port);
  o.request.max_body = static_cast<size_t>(a.max_body);
  o.request.max_tokens = a.max_tokens;
  o.engine.max_batch = a.max_batch, o.engine.max_queue = a.max_queue, o.engine.max_sessions = a.max_sessions;
  o.engine.timeout = millis(a.timeout, "--timeout");
  o.engine.session_idle = millis(a.session_idle, "--session-idle");
  o.read_timeout = millis(a.read_timeout, "--read-timeout");
  o.grace = millis(a.grace, "--grace");
  RC_CHECK(a.flush_ms <= 10000, "--flush-ms", "expected at most 10000 (10 s), got ", a.flush_ms);
  o.engine.flush = std::chrono::microseconds(static_cast<int64_t>(a.flush_ms * 1000.0));
  RC_CHECK(o.engine.timeout.count() > 0, "--timeout", "expected a duration > 0");
  RC_CHECK(o.read_timeout.count() >= 1000, "--read-timeout", "expected at least 1s");
  o.http_threads = static_cast<int>(a.http_threads);
  if (!a.key_file.empty()) o.api_keys = serve::read_api_keys(a.key_file);
  return o;
}

}  // namespace

void add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* c = app.add_subcommand("serve", "serve trained models over HTTP: LM score, generate (streamed) and sessions; "
                                   "classify, tag, translate, forecast, transcribe (and audio streams)");
  c->add_option("--model", a->models, "model directory or file, or NAME=DIR (repeat for several; the first is "
                "the default)")->required()->check(checked("text"));
  c->add_option("--host", a->host, "address to listen on (loopback unless told otherwise)")->capture_default_str()
      ->check(checked("text"));
  c->add_option("--port", a->port, "TCP port (0: any free one, printed)")->capture_default_str()->check(int_range(0, 65535));
  c->add_option("--max-batch", a->max_batch, "generations stepped together (continuous batching)")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-queue", a->max_queue, "requests waiting beyond the batch; more get 429")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--max-body", a->max_body, "largest request body in bytes (413 beyond)")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-tokens", a->max_tokens, "largest generate length")->capture_default_str()->check(checked("positive"));
  c->add_option("--max-sessions", a->max_sessions, "open sessions at most")->capture_default_str()->check(checked("count"));
  c->add_option("--timeout", a->timeout, "per-request time limit")->capture_default_str()->check(checked("duration"));
  c->add_option("--session-idle", a->session_idle, "a session unused this long is closed")->capture_default_str()
      ->check(checked("duration"));
  c->add_option("--read-timeout", a->read_timeout, "a request must arrive whole within this of its first byte (408 after)")
      ->capture_default_str()->check(checked("duration"));
  c->add_option("--grace", a->grace, "on SIGTERM, in-flight requests may run this long")->capture_default_str()
      ->check(checked("duration"));
  c->add_option("--api-key-file", a->key_file, "require one of these keys (one a line) as 'Authorization: Bearer KEY'")
      ->check(checked("file"));
  c->add_option("--flush-ms", a->flush_ms, "a streamed generation's tokens go out together, each at most this many "
                "milliseconds after it was drawn (0: each token in its own write)")
      ->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--http-threads", a->http_threads, "HTTP worker threads (0: max-batch + max-queue + 8)")
      ->capture_default_str()->check(checked("count"));
  c->callback([a] {
    serve::Server server(serve_options(*a));
    const int port = server.bind();
    on_terminate([&server] { server.stop(); });
    std::printf("listening on http://%s:%d\n", a->host.c_str(), port);
    std::fflush(stdout);
    server.run();
    on_terminate(nullptr);
    std::printf("stopped\n");
    std::fflush(stdout);
  });
}

}  // namespace recurrent::cli
