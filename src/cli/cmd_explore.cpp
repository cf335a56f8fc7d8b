// recurrent explore [RUN_DIR|MODEL|RUNS_DIR …] [--port 8090] [--host 127.0.0.1] [--text FILE] — a local
// web app over training runs and models: live metrics curves, gradient flow, what each cell of a
// character LM tracks, samples (src/explore/, docs/explore.md). Prints "listening on http://HOST:PORT";
// SIGTERM or Ctrl-C stops it.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/interrupts.h"
#include "cli/options.h"
#include "explore/explorer.h"
#include "recurrent/core/error.h"

namespace recurrent::cli {

namespace {

struct ExploreArgs {
  std::vector<std::string> paths;
  std::string host = "127.0.0.1", text;
  int64_t port = 8090, max_chars = 20000, warm = 4;
  bool log = false;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  RC_CHECK(f, path, "cannot read this file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

void add_explore(CLI::App& app) {
  auto a = std::make_shared<ExploreArgs>();
  CLI::App* c = app.add_subcommand("explore", "a web explorer for runs and models: live curves, gradient flow, cells, samples");
  c->add_option("paths", a->paths, "run folders, model files, or folders of runs (new runs in them appear live)")
      ->required()->check(checked("path"));
  c->add_option("--host", a->host, "address to listen on (loopback unless told otherwise)")->capture_default_str()
      ->check(checked("text"));
  c->add_option("--port", a->port, "TCP port (0: any free one, printed)")->capture_default_str()->check(int_range(0, 65535));
  c->add_option("--text", a->text, "a UTF-8 text file the Cells view starts with (its first --max-chars characters)")
      ->check(checked("file"));
  c->add_option("--max-chars", a->max_chars, "longest text the Cells view reads")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--warm", a->warm, "how many character RNN LMs read --text at start, so their Cells view opens at once "
                "(0: each reads it when its page asks)")->capture_default_str()->check(checked("count"));
  c->add_flag("--log", a->log, "print a line when each request arrives and is answered, and each phase of a Cells "
              "reading (ms since start)");
  c->callback([a] {
    explore::ExploreOptions o;
    o.paths = a->paths, o.host = a->host, o.port = static_cast<int>(a->port), o.max_chars = a->max_chars;
    o.warm = a->warm, o.log = a->log;
    if (!a->text.empty()) {
      std::string t = read_text(a->text);
      // The first max_chars code points (a UTF-8 lead byte starts each).
      int64_t n = 0;
      for (size_t i = 0; i < t.size(); ++i)
        if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80 && n++ == o.max_chars) {
          t.resize(i);
          break;
        }
      o.text = std::move(t);
    }
    explore::Explorer server(std::move(o));
    const int port = server.bind();
    on_terminate([&server] { server.stop(); });
    std::printf("listening on http://%s:%d\n", a->host.c_str(), port);
    std::fflush(stdout);
    std::thread warm([&server] {  // the Cells view of --text, computed while the page is being opened
      for (const std::string& line : server.warm()) std::printf("cells of --text ready: %s\n", line.c_str());
      std::fflush(stdout);
    });
    server.run();
    warm.join();
    on_terminate(nullptr);
  });
}

}  // namespace recurrent::cli
