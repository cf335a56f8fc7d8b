// recurrent — command-line tool. Each subcommand lives in its own file (commands.h).
// Errors: CLI11 usage errors and recurrent::Error become a one-line message and a non-zero exit.
// Under mpirun (cli/mpi_comm.h) the line names the rank and the whole job ends.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <omp.h>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/engine_env.h"
#include "cli/interrupts.h"
#include "cli/memory_check.h"
#include "cli/mpi_comm.h"
#include "cli/omp_env.h"
#include "cli/options.h"
#include "cli/run_record.h"
#include "recurrent/core/error.h"
#include "recurrent/core/float_env.h"
#include "recurrent/core/memory.h"
#include "recurrent/core/threads.h"

int main(int argc, char** argv) {
  recurrent::cli::bound_openmp_spin(argv);  // libgomp: short spin, then sleep (cli/omp_env.h)
  recurrent::cli::route_sigint_to_watcher();  // Ctrl-C on a thread of its own (cli/interrupts.h)
  // Denormals flushed to zero on this thread and the OpenMP team (which starts here, after the signal mask
  // above, so its threads inherit both): a saturated gate otherwise fills the products with 100x-slower
  // denormals (include/recurrent/core/float_env.h).
  recurrent::set_flush_denormal(true);
  int ranks = 1;
  try {
    ranks = recurrent::cli::start_mpi(&argc, &argv);  // under mpirun: this rank of the job (cli/mpi_comm.h)
  } catch (const recurrent::Error& e) {
    return recurrent::cli::fail(e.what(), 1);
  }
  CLI::App app{"recurrent: recurrent neural networks and sequence models on CPUs", "recurrent"};
  app.set_version_flag("--version", std::string("recurrent ") + RECURRENT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--threads) may also follow the subcommand
  int threads = 0;
  app.add_option("--threads", threads, "threads to use (default: $RECURRENT_NUM_THREADS, else all cores; eval, score, sample, predict, translate, "
                 "transcribe, forward: the cores that other processes leave free now)")
      ->check(recurrent::cli::int_range(1, 1024));
  std::string target;
  app.add_option("--target", target,
                 "SIMD target of the kernels: native, avx512, avx2, sse4, ssse3, neon, ... (default: "
                 "$RECURRENT_TARGET, else the best this CPU runs)")
      ->check(recurrent::cli::checked("text"));  // checked against the CPU by apply_engine_env
  app.parse_complete_callback([&] {
    recurrent::cli::apply_engine_env(target);
    // --threads overrides RECURRENT_NUM_THREADS; otherwise read (and validate) the variable now, so a
    // bad value is a one-line error up front, not a surprise in the middle of a run.
    if (threads <= 0) threads = recurrent::cli::threads_from_env();
    // Under mpirun the ranks on one machine share its cores: cores / local ranks each (at least 1).
    if (threads <= 0 && ranks > 1)
      threads = std::max(1, std::min(omp_get_num_procs(), static_cast<int>(std::thread::hardware_concurrency()) /
                                                              recurrent::cli::local_ranks()));
    // Inference on a machine whose cores other processes hold: a team would meet at every step and wait a
    // time slice for a descheduled partner, so the default fits the load now (core/threads.h). Only for
    // commands whose output is the same at any thread count (tests/cli/test_thread_fit.cpp); training
    // keeps every core, so a run's result never depends on what else ran when it started.
    if (threads <= 0 && ranks == 1 && recurrent::cli::output_independent_of_threads(app))
      threads = recurrent::fit_threads_to_load(recurrent::num_threads(), recurrent::others_running());
    if (threads > 0) recurrent::set_num_threads(threads);
    // Calls too small to share run on one thread (core/threads.h): a team costs a time slice per meeting
    // on a busy machine.
    recurrent::set_min_parallel_work(recurrent::kDefaultMinParallelWork);
    // Sizes no memory here could hold: one line naming them, before anything is allocated.
    recurrent::cli::check_memory(app);
  });

  recurrent::cli::add_inspect(app);
  recurrent::cli::add_forward(app);
  recurrent::cli::add_features(app);
  recurrent::cli::add_train(app);
  recurrent::cli::add_eval(app);
  recurrent::cli::add_score(app);
  recurrent::cli::add_sample(app);
  recurrent::cli::add_predict(app);
  recurrent::cli::add_transcribe(app);
  recurrent::cli::add_translate(app);
  recurrent::cli::add_serve(app);
  recurrent::cli::add_explore(app);
  recurrent::cli::add_bench(app);
  recurrent::cli::add_gradlab(app);
  recurrent::cli::add_experiment(app);
  recurrent::cli::add_gradlab_transformer(app);
  recurrent::cli::add_gradlab_esn(app);

  if (argc == 2 && std::string(argv[1]) == "--list-options") {  // for tests: every option and its check
    recurrent::cli::list_options(app);
    return recurrent::cli::finish_mpi(0);
  }

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    args = recurrent::cli::expand_resume(app, args);  // `train TASK --resume DIR` alone: the run's own options
    std::reverse(args.begin(), args.end());            // CLI11 takes the arguments last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return recurrent::cli::finish_mpi(app.exit(e));  // --help, --version
    return recurrent::cli::fail(recurrent::cli::usage_message(app, e), e.get_exit_code());
  } catch (const recurrent::Error& e) {
    return recurrent::cli::fail(e.what(), 1);
  } catch (const recurrent::OutOfMemory& e) {  // passed check_memory's lower bound, and still too big
    return recurrent::cli::fail(recurrent::cli::oom_message(app, static_cast<double>(e.bytes())), 1);
  } catch (const std::bad_alloc&) {
    return recurrent::cli::fail(recurrent::cli::oom_message(app, 0), 1);
  } catch (const std::filesystem::filesystem_error& e) {
    return recurrent::cli::fail(e.path1().string() + ": " + e.code().message(), 1);
  } catch (const std::exception& e) {
    return recurrent::cli::fail(e.what(), 1);
  }
  return recurrent::cli::finish_mpi(0);
}
