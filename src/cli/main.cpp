// recurrent — command-line tool. Each subcommand lives in its own file (commands.h).
// Errors: CLI11 usage errors and recurrent::Error become a one-line message and a non-zero exit.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.h"
#include "cli/engine_env.h"
#include "cli/omp_env.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

int main(int argc, char** argv) {
  recurrent::cli::bound_openmp_spin(argv);  // libgomp: short spin, then sleep (cli/omp_env.h)
  CLI::App app{"recurrent: recurrent neural networks and sequence models on CPUs", "recurrent"};
  app.set_version_flag("--version", std::string("recurrent ") + RECURRENT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--threads) may also follow the subcommand
  int threads = 0;
  app.add_option("--threads", threads, "threads to use (default: $RECURRENT_NUM_THREADS, else all cores)")
      ->check(CLI::Range(1, 1024));
  std::string target;
  app.add_option("--target", target,
                 "SIMD target of the kernels: native, avx512, avx2, sse4, ssse3, neon, ... (default: "
                 "$RECURRENT_TARGET, else the best this CPU runs)");
  app.parse_complete_callback([&] {
    recurrent::cli::apply_engine_env(target);
    // --threads overrides RECURRENT_NUM_THREADS; otherwise read (and validate) the variable now, so a
    // bad value is a one-line error up front, not a surprise in the middle of a run.
    if (threads <= 0) threads = recurrent::cli::threads_from_env();
    if (threads > 0) recurrent::set_num_threads(threads);
  });

  recurrent::cli::add_inspect(app);
  recurrent::cli::add_forward(app);
  recurrent::cli::add_train(app);
  recurrent::cli::add_eval(app);
  recurrent::cli::add_score(app);
  recurrent::cli::add_sample(app);
  recurrent::cli::add_predict(app);
  recurrent::cli::add_translate(app);
  recurrent::cli::add_bench(app);
  recurrent::cli::add_gradlab(app);
  recurrent::cli::add_experiment(app);
  recurrent::cli::add_gradlab_transformer(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // `recurrent frobnicate`: CLI11 reports only "A subcommand is required"; name the culprit.
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      std::string known;
      for (const CLI::App* sub : app.get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
      std::fprintf(stderr, "recurrent: error: unknown command '%s' (commands: %s; see --help)\n",
                   app.remaining().front().c_str(), known.c_str());
      return e.get_exit_code();
    }
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
