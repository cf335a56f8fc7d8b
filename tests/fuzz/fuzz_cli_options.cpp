// libFuzzer harness: the CLI's option parsing — every subcommand and option of `recurrent` as main.cpp
// registers them, with their checks (cli/options.h), `train … --resume` expansion (cli/run_record.h),
// the one-line usage message of a parse error, and the memory bound computed from the sizes given
// (cli/memory_check.h). The commands themselves do not run: the root's parse-complete callback (which
// CLI11 runs after every option's check and before any subcommand's callback, as main.cpp's does its
// checks) ends the parse with ParsedOnly.
// Input: the arguments after `recurrent`, one a line (at most 64).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/engine_env.h"
#include "cli/memory_check.h"
#include "cli/options.h"
#include "cli/run_record.h"
#include "fuzz_util.h"

using namespace recurrent;

namespace {

struct ParsedOnly {};

void one_line(const std::string& what, const char* kind) {
  if (what.empty() || what.find('\n') != std::string::npos) fuzz::fail(std::string(kind) + " not one line: " + what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::string_view in = fuzz::as_text(data, size);
  while (!in.empty() && args.size() < 64) {
    const size_t nl = in.find('\n');
    args.emplace_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  CLI::App app{"recurrent", "recurrent"};
  app.require_subcommand(1);
  app.fallthrough();
  int threads = 0;
  std::string target;
  app.add_option("--threads", threads, "")->check(cli::int_range(1, 1024));
  app.add_option("--target", target, "")->check(cli::checked("text"));
  cli::add_inspect(app);
  cli::add_forward(app);
  cli::add_features(app);
  cli::add_train(app);
  cli::add_eval(app);
  cli::add_score(app);
  cli::add_sample(app);
  cli::add_predict(app);
  cli::add_transcribe(app);
  cli::add_translate(app);
  cli::add_serve(app);
  cli::add_explore(app);
  cli::add_bench(app);
  cli::add_gradlab(app);
  cli::add_experiment(app);
  cli::add_gradlab_transformer(app);
  cli::add_gradlab_esn(app);
  app.parse_complete_callback([&app] {
    (void)cli::output_independent_of_threads(app);
    const double need = cli::memory_needed(app);
    if (!(need >= 0)) fuzz::fail("memory_needed " + std::to_string(need));
    one_line(cli::oom_message(app, need), "oom_message");
    throw ParsedOnly{};
  });
  try {
    args = cli::expand_resume(app, args);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    fuzz::fail("a command ran");
  } catch (const ParsedOnly&) {
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) one_line(cli::usage_message(app, e), "usage_message");
  } catch (const Error& e) {
    one_line(e.what(), "Error");
  }
  return 0;
}
