// The engine's process defaults from the command line and the environment: the only place the
// recurrent tool reads RECURRENT_* engine variables (the library reads none; docs/engine.md lists them).
//   --target NAME / RECURRENT_TARGET=NAME   SIMD target: native (best), avx512, avx2, sse4, ssse3, neon, ...
//   RECURRENT_RNN_FUSED=0                   the per-step path instead of the fused time loops
//   RECURRENT_RNN_SPLIT=rows|units          the fused forward's work split (default: a rule)
//   RECURRENT_RNN_FOLD=1|0                  input projection folded into the fused steps (default: a rule)
// A value that is not one of these is a one-line error naming the variable.
#pragma once

#include <string>

namespace recurrent::cli {

// target: the --target option's value ("" when not given: RECURRENT_TARGET, else the best target).
void apply_engine_env(const std::string& target);

}  // namespace recurrent::cli
