// recurrent — command-line tool. Each subcommand lives in its own file (commands.h).
// Errors: CLI11 usage errors and recurrent::Error become a one-line message and a non-zero exit.
#include <cstdio>
#include <exception>
#include <new>

#include "cli/commands.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

int main(int argc, char** argv) {
  CLI::App app{"recurrent: recurrent neural networks and sequence models on CPUs", "recurrent"};
  app.set_version_flag("--version", std::string("recurrent ") + RECURRENT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--threads) may also follow the subcommand
  int threads = 0;
  app.add_option("--threads", threads, "threads to use (default: $RECURRENT_NUM_THREADS, else all cores)")
      ->check(CLI::Range(1, 1024));
  app.parse_complete_callback([&] {
    if (threads > 0) recurrent::set_num_threads(threads);
  });

  recurrent::cli::add_inspect(app);
  recurrent::cli::add_forward(app);
  recurrent::cli::add_gradlab(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // One line: what was wrong, then where to look (CLI11's default adds a second line).
    std::fprintf(stderr, "recurrent: error: %s (see --help)\n", e.what());
    return e.get_exit_code();
  } catch (const recurrent::Error& e) {
    std::fprintf(stderr, "recurrent: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "recurrent: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recurrent: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
