// Engine process defaults from --target and RECURRENT_* variables. Contract: engine_env.h.
#include "cli/engine_env.h"

#include <cstdlib>

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
  simd::set_default_target(e.target);
  set_default_engine(e);
}

}  // namespace recurrent::cli
