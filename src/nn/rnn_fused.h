// What the fused time loops (rnn_fused_forward.cpp, rnn_fused_backward.cpp) share: the packed weight
// panels in fp32 and bf16, the team runner, and the engine's decisions for a shape (rnn_engine.cpp).
//
// Packed weights (built by the threads that own the blocks, [panel][K][P], zero-padded past the last
// column; P = the target's panel width, simd::RnnKernels::panel). Backward panels: per call. Forward
// panels: once per weight version, kept across calls by the RNN module (rnn_panel_cache.h):
//   forward panel (jb, g) = W_hh[g·H + P·jb + c, k]ᵀ, K = R (input folded: W_ih rows on top, K = I + R)
//   backward panel jb = W_hh[k, P·jb + c], K = G·H
//   projection: forward panel jr = W_hr[P·jr + c, k]ᵀ, K = H    backward panel jb = W_hr[k, P·jb + c], K = R
// bf16 (AVX-512 targets only, P = 32): the same panels as [Kp/2][32][2] pairs (kernels/avx512/panel_bf16.h),
// multiplied on vdpbf16ps or, where the CPU has them (use_amx), on AMX tiles (kernels/amx/panel_amx.h).
#pragma once

#include <omp.h>

#include <cstdint>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "nn/rnn_direction.h"
#include "nn/rnn_team.h"
#include "recurrent/core/tensor.h"
#include "recurrent/core/threads.h"

namespace recurrent::rnn::fused {

inline int64_t blocks(int64_t n, int64_t P) { return (n + P - 1) / P; }
inline bool projected(const DirShape& s) { return rnn::projected(cell_of(s.cell), s.H, s.R); }

// w: [G·N, K] (G gate matrices of N rows). Out [nb·G, K, P]: panel (jb, g) row k, column c =
// w[g·N + jb·P + c, k]; blocks [jb0, jb1). (W_hh: N = H, K = R; W_hr: G = 1, N = R, K = H.)
void pack_forward_panels(const simd::RnnKernels& k, const float* w, int64_t G, int64_t N, int64_t K, int64_t jb0,
                         int64_t jb1, float* out);
// Input folded: panel (jb, g) is [W_ih rows ; W_hh rows] of the block's units, K = I + R.
void pack_folded_panels(const simd::RnnKernels& k, const float* w_ih, int64_t I, const float* w_hh, int64_t G,
                        int64_t N, int64_t R, int64_t jb0, int64_t jb1, float* out);
// w: [K, N]. Out [nb, K, P]: panel jb row k, column c = w[k, jb·P + c] (0 past N); blocks [jb0, jb1).
void pack_backward_panels(int64_t P, const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, float* out);
// bf16 twins (P = 32): panel i at out + i·panel_bf16_elems(K).
void pack_forward_panels_bf16(const simd::RnnKernels& k, const float* w, int64_t G, int64_t N, int64_t K,
                              int64_t jb0, int64_t jb1, uint16_t* out);
void pack_backward_panels_bf16(const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, uint16_t* out);
int64_t panel_bf16_elems(int64_t K);

// An uninitialised, 64-byte aligned bf16 buffer (panels, operands), allocated before the time loop.
struct Bf16Buf {
  Tensor t;  // ⌈elems/2⌉ floats holding the bf16 values: 64-byte aligned, from the storage cache
  uint16_t* p = nullptr;
  explicit Bf16Buf(int64_t elems) {
    if (elems <= 0) return;
    t = Tensor::uninitialized({(elems + 1) / 2});
    p = reinterpret_cast<uint16_t*>(t.data());
  }
};

// A set of packed panels of K rows in one precision (f fp32 [n][K][P], or b bf16 [n][panel_bf16_elems(K)]).
struct Panels {
  const simd::RnnKernels* k;
  const float* f;
  const uint16_t* b;
  int64_t K;
  int64_t count;  // panels in the set (fp32 folded: the last one has no next to prefetch)
  bool amx = false;  // bf16: the products on AMX tiles (use_amx); else vdpbf16ps
  // C[M, 0:ncols] (+)= A[M, k0 : k0 + kk] · panel i rows [k0, k0 + kk) (k0 even). fp32: A itself (lda);
  // bf16: ab, A's columns [k0, k0 + kk) already rounded by the caller, [M, bf16_pad(kk)] row-major.
  void gemm(int64_t i, int64_t k0, int64_t kk, int64_t M, const float* A, int64_t lda, const uint16_t* ab,
            int64_t ncols, float* C, int64_t ldc, bool acc) const;
  // bf16: panels [i, i + n) against the same rounded rows ab ([M, bf16_pad(kk)]), rows [0, kk), panel i + p into
  // C + p·cstride: bitwise gemm(i + p, 0, kk, M, ..., C + p·cstride, ...) for each p; on AMX each tile
  // block of A is read once for all n panels.
  void gemm_n(int64_t i, int64_t n, int64_t kk, int64_t M, const uint16_t* ab, int64_t ncols, float* C,
              int64_t cstride, int64_t ldc, bool acc) const;
  // fp32 folded panels (K = k1 + k2): C (+)= A1[M, k1] · panel i rows [0, k1) + A2[M, k2] · rows [k1, K).
  // The next panel in memory is prefetched into L2 meanwhile (folded weights outgrow L2), never past the last.
  void gemm2(int64_t i, int64_t M, const float* A1, int64_t lda1, int64_t k1, const float* A2, int64_t lda2,
             int64_t ncols, float* C, int64_t ldc, bool acc) const {
    const float* next = i + 1 < count ? f + (i + 1) * K * k->panel : nullptr;
    k->panel_gemm2(M, k1, A1, lda1, K - k1, A2, lda2, f + i * K * k->panel, ncols, C, ldc, acc, next);
  }
  // fp32 panels i and i + 1 against the same left operand ([A1 | A2], K = k1 + k2; k1 = K, A2 unused: unfolded)
  // into C1 and C2: bitwise gemm2(i, ...) into C1 and gemm2(i + 1, ...) into C2, in one wider register block.
  // prefetch: bring the two panels after them into L2 meanwhile (folded weights outgrow L2).
  void gemm_pair(int64_t i, int64_t M, const float* A1, int64_t lda1, int64_t k1, const float* A2, int64_t lda2,
                 int64_t ncols, float* C1, float* C2, int64_t ldc, bool acc, bool prefetch) const {
    const int64_t step = K * k->panel;
    const float* next = prefetch && i + 2 < count ? f + (i + 2) * step : nullptr;
    const float* next2 = prefetch && i + 3 < count ? f + (i + 3) * step : nullptr;
    k->panel_gemm_pair(M, k1, A1, lda1, K - k1, A2, lda2, f + i * step, ncols, C1, C2, ldc, acc, next, next2);
  }
};

// One thread's bf16 copy of a phase's left operand; sized before the loop (rows × bf16_pad(max K)).
struct Operand {
  Bf16Buf buf;
  Operand(bool bf16, int64_t rows, int64_t maxK);
  // bf16: rows [M, K] of src (lds) rounded into the buffer, returned; fp32: nothing, null.
  const uint16_t* set(int64_t M, int64_t K, const float* src, int64_t lds);
};

// Releases the calling thread's AMX tiles at scope exit, exceptions included (amx::release_tiles; nothing
// where the thread configured none or the architecture has none): no tile state outlives a team member.
struct TileRelease {
  TileRelease() = default;
  TileRelease(const TileRelease&) = delete;
  TileRelease& operator=(const TileRelease&) = delete;
  ~TileRelease();
};

// ---- the engine's decisions (rnn_engine.cpp) ----
// The kernels of the shape's target (s.engine.target, resolved).
const simd::RnnKernels& kernels(const DirShape& s);
// Whether the one-phase cells' forward gives each of n threads its own batch rows (else unit blocks).
bool split_forward_by_rows(const DirShape& s, int n);
// Rows [r0, r1) of thread tid of n: even shares (bitwise the same results as one thread: rnn_engine.cpp).
void row_span(int64_t B, int tid, int n, int64_t& r0, int64_t& r1);
void count_split_run(bool rows);  // tests: forward_split_runs

// Runs member(team, tid) on a team of StepTeam::plan(nb) threads (one OpenMP region per sequence), or on
// one thread when a step's work (multiply-adds) is too small to share (core/threads.h: threads_for) — the
// team meets once per step. If OpenMP grants fewer threads (nested parallelism), thread 0 runs the whole
// loop alone. Each member's thread releases its AMX tiles when done (release_tiles: nothing if unused).
template <class Member>
void run_team(int64_t nb, double step_work, const Member& member) {
  const int nt = threads_for(step_work) == 1 ? 1 : StepTeam::plan(nb);
  if (nt == 1) {
    StepTeam one(1);
    TileRelease done;
    return member(one, 0);
  }
  StepTeam team(nt);
#pragma omp parallel num_threads(nt)
  {
    const int tid = omp_get_thread_num();
    TileRelease done;
    if (omp_get_num_threads() == nt) {
      member(team, tid);
    } else if (tid == 0) {
      StepTeam one(1);
      member(one, 0);
    }
  }
}

}  // namespace recurrent::rnn::fused
