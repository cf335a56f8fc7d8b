// The fast engine's decisions for one direction's shape: which kernels (the shape's SIMD target),
// fused loops or the per-step path, input folded or not, how the forward loop's threads share work.
// Each decision reads the shape's EngineConfig (the model's, over the process default: rnn_types.h),
// whose zero fields leave it to the rules below.
#include <atomic>

#include "nn/rnn_fused.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/target.h"

namespace recurrent::rnn {

namespace fused {

const simd::RnnKernels& kernels(const DirShape& s) { return simd::rnn_kernels(s.engine.target); }

// The one-phase cells' forward (every cell but Cho's GRU and the LSTM with projection) can split the
// batch instead of the hidden units: each thread runs its own rows through every step with the whole
// W_hh (from L2/L3), and the threads never meet inside the loop. Chosen when each thread gets ≥ 16
// rows (the whole W_hh read per 16+ rows per step: ≤ 1/8 byte per FLOP from L3), or ≥ 8 rows when
// W_hh fits in half an L2 (512 KiB). EngineConfig::split forces one (measurements, tests).
bool split_forward_by_rows(const DirShape& s, int n) {
  if (cell_of(s.cell).two_phase() || projected(s)) return false;
  if (n <= 1 || s.B < 8 * n) return false;
  if (s.engine.split != 0) return s.engine.split > 0;
  const int64_t whh_bytes = 4 * s.G() * s.H * s.R;
  return s.B >= 16 * n || whh_bytes <= (512 << 10);
}

// Even shares: a row's product does not depend on the register block it lands in (panel-inl.h) as long
// as no thread is left with a single row (M = 1 takes the matrix-vector form): the split needs ≥ 8 rows
// per thread, so results are bitwise those of the unit split.
void row_span(int64_t B, int tid, int n, int64_t& r0, int64_t& r1) {
  r0 = B * tid / n;
  r1 = B * (tid + 1) / n;
}

namespace {
std::atomic<int64_t> g_split_runs[2];  // tests: forward teams (≥ 2 threads) that split [0] units, [1] rows
}
void count_split_run(bool rows) { g_split_runs[rows ? 1 : 0].fetch_add(1, std::memory_order_relaxed); }

}  // namespace fused

int64_t forward_split_runs(bool rows, bool reset) {
  return reset ? fused::g_split_runs[rows ? 1 : 0].exchange(0) : fused::g_split_runs[rows ? 1 : 0].load();
}

void force_forward_split(int mode) {
  EngineConfig e = default_engine();
  e.split = mode;
  set_default_engine(e);
}

void force_fold_input(int mode) {
  EngineConfig e = default_engine();
  e.fold = mode;
  set_default_engine(e);
}

// Input folded into the step: the one-phase cells in fp32 compute x_t W_ihᵀ inside the loop, in the
// same panel accumulation as h_{t-1} W_hhᵀ, instead of one big X·W_ihᵀ GEMM before it: the gates never
// travel to memory and back ([T, B, G·H] written, then read a step at a time), and without a tape A
// shrinks to one step. Taken when B ≥ 8 (a full register block; at B = 1 the big GEMM before the loop
// keeps the per-step latency down).
bool fold_input(const DirShape& s) {
  if (s.precision != Precision::fp32 || cell_of(s.cell).two_phase() || fused::projected(s) || is_layer_norm(s.cell))
    return false;  // (layer-norm cells normalise X W_ihᵀ before their loop: rnn_fused_ln.cpp)
  return s.engine.fold != 0 ? s.engine.fold > 0 : s.B >= 8;
}

bool fused_supported(const DirShape& s) { return s.engine.fused >= 0; }

// bf16 on AMX tiles where the CPU has them (and Linux granted the tile state), unless the engine says
// never (EngineConfig::amx < 0); 1 cannot force AMX onto a CPU without it.
bool use_amx(const DirShape& s) {
  return s.precision == Precision::bf16 && s.engine.amx >= 0 && cpu_has_amx_bf16();
}

EngineConfig resolve_engine(const EngineConfig& model) {
  EngineConfig e = model.over(default_engine());
  e.target = simd::resolve_target(e.target);
  return e;
}

}  // namespace recurrent::rnn
