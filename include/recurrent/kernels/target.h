// recurrent/kernels/target.h — the SIMD targets the kernels are compiled for, and which one runs.
//
// Every kernel of the recurrent engine (the per-step panel products, every cell's gate/state passes,
// the activations) is written once over Google Highway and compiled for each target of the build's
// architecture: on x86-64 SSE4, AVX2 (+FMA) and AVX-512 ("avx512": F/BW/DQ/VL); on aarch64 NEON.
// A target is identified by its Highway bit (hwy/detect_targets.h); 0 means "the default": the best
// target this CPU runs, unless the process default was set (set_default_target; the CLI does that
// from RECURRENT_TARGET). A model may carry its own (EngineConfig::target, rnn_types.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::simd {

// Targets compiled into this build that this CPU can run, best first (never empty).
std::vector<int64_t> cpu_targets();
// Every target compiled into this build, best first (some may not run here).
std::vector<int64_t> compiled_targets();
int64_t best_target();                    // cpu_targets().front() (no allocation: called per kernel call)
bool avx512_target(int64_t target);       // an AVX-512 target (avx512, avx512_dl): 32-lane panels, bf16, zmm peak
bool fma_target(int64_t target);          // fused multiply-add (one rounding): every target but sse4/ssse3/emu128
bool cpu_runs(int64_t target);            // compiled and supported by this CPU
// "sse4", "avx2", "avx512", "neon", "emu128", ... (lower case; Highway's name otherwise).
std::string target_name(int64_t target);
// By name (as target_name, or "native"/"best" for best_target()); throws Error(`what`, ...) naming
// the valid choices when the name is unknown or this CPU cannot run it.
int64_t parse_target(const std::string& name, const char* what = "target");

// The target that EngineConfig::target == 0 resolves to: best_target() unless set. set_default_target(0)
// restores that; a target this CPU cannot run throws.
int64_t default_target();
void set_default_target(int64_t target);
// t != 0 ? t (checked: this CPU runs it) : default_target().
int64_t resolve_target(int64_t t);

// Caps the instruction set of the oneDNN products the engine also calls (the big GEMMs before and after
// the time loops) to `target`'s: a process-wide oneDNN setting that holds only if called before oneDNN's
// first use (returns false otherwise, or where oneDNN has no such level). The CLI calls it for --target,
// so that a forced target means every kernel of the run, ours and oneDNN's, is held to it.
bool limit_onednn_isa(int64_t target);

}  // namespace recurrent::simd
