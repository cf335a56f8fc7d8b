// The engine's process defaults from the command line and the environment: the only place the
// recurrent tool reads RECURRENT_* engine variables (the library reads none; docs/engine.md lists them).
//   --target NAME / RECURRENT_TARGET=NAME   SIMD target: native (best), avx512, avx2, sse4, ssse3, neon, ...
//                                           (also caps oneDNN's products to that level: limit_onednn_isa)
//   RECURRENT_RNN_FUSED=0                   the per-step path instead of the fused time loops
//   RECURRENT_RNN_SPLIT=rows|units          the fused forward's work split (default: a rule)
//   RECURRENT_RNN_FOLD=1|0                  input projection folded into the fused steps (default: a rule)
//   RECURRENT_AMX=0                         bf16 per-step products on vdpbf16ps, not AMX tiles (default: AMX
//                                           where the CPU has it)
//   RECURRENT_RNN_SOLO=0                    the fused loops' team never goes solo on a busy machine (nn/rnn_team.h)
//   RECURRENT_RNN_BARRIER=omp               `#pragma omp barrier` instead of StepTeam's (measurements)
//   RECURRENT_NUM_THREADS=N                 threads when --threads is not given (default: all cores)
// A value that is not one of these is a one-line error naming the variable.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace recurrent::cli {

// target: the --target option's value ("" when not given: RECURRENT_TARGET, else the best target).
void apply_engine_env(const std::string& target);

// RECURRENT_NUM_THREADS as a count in [1, 1024], or 0 when unset or empty; any other value throws an
// Error naming the variable and quoting the value.
int threads_from_env();

// True when the chosen subcommand only runs a trained model (eval, score, sample, predict, translate,
// transcribe, forward): its output is the same at any thread count, so its default may fit the load.
bool output_independent_of_threads(const CLI::App& app);

}  // namespace recurrent::cli
