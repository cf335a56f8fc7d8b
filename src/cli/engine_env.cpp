// Engine process defaults from --target and RECURRENT_* variables. Contract: engine_env.h.
#include "cli/engine_env.h"

#include <cerrno>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "nn/rnn_team.h"

#include "recurrent/core/error.h"
#include "recurrent/kernels/target.h"
#include "recurrent/nn/rnn_types.h"

namespace recurrent::cli {

namespace {
// 1 when the variable is `on`, -1 when `off`, 0 when unset or empty; anything else is an error.
int env_choice(const char* name, const char* on, const char* off) {
  const char* e = std::getenv(name);
  if (!e || !*e) return 0;
  const std::string v = e;
  if (v == on) return 1;
  if (v == off) return -1;
  throw Error(name, std::string("expected '") + on + "' or '" + off + "', got '" + v + "'");
}
}  // namespace

void apply_engine_env(const std::string& target) {
  EngineConfig e;
  const char* env_target = std::getenv("RECURRENT_TARGET");
  if (!target.empty()) {
    e.target = simd::parse_target(target, "--target");
  } else if (env_target && *env_target) {
    e.target = simd::parse_target(env_target, "RECURRENT_TARGET");
  }
  e.fused = env_choice("RECURRENT_RNN_FUSED", "1", "0");
  e.split = env_choice("RECURRENT_RNN_SPLIT", "rows", "units");
  e.fold = env_choice("RECURRENT_RNN_FOLD", "1", "0");
  e.amx = env_choice("RECURRENT_AMX", "1", "0");
  rnn::StepTeam::configure(env_choice("RECURRENT_RNN_SOLO", "1", "0") >= 0,
                           env_choice("RECURRENT_RNN_BARRIER", "omp", "team") > 0);
  simd::set_default_target(e.target);
  // A forced target holds oneDNN's products (the engine's big GEMMs) to the same instruction set, so that
  // `--target avx2` on an AVX-512 machine measures what an AVX2-only CPU would run.
  if (e.target != 0) simd::limit_onednn_isa(e.target);
  set_default_engine(e);
}

int threads_from_env() {
  const char* v = std::getenv("RECURRENT_NUM_THREADS");
  if (!v || !*v) return 0;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v, &end, 10);
  RC_CHECK(end && *end == '\0' && errno == 0 && n >= 1 && n <= 1024, "RECURRENT_NUM_THREADS",
           "expected a positive integer, got '", v, "'");
  return static_cast<int>(n);
}

bool output_independent_of_threads(const CLI::App& app) {
  for (const CLI::App* c : app.get_subcommands()) {
    const std::string& n = c->get_name();
    if (n == "eval" || n == "score" || n == "sample" || n == "predict" || n == "translate" || n == "transcribe" ||
        n == "forward")
      return true;
  }
  return false;
}

}  // namespace recurrent::cli
