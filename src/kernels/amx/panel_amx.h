// AMX bf16 panel GEMM for the fused RNN loops in bf16 precision (src/kernels/amx/panel_gemm_amx.cpp):
// the same contract and panel layout as avx512::panel_gemm_bf16 (kernels/avx512/panel_bf16.h), run on
// AMX tiles (TDPBF16PS: per fp32 element of a 16×16 C tile, 32 bf16 products added in pairs, fp32
// accumulation, round to nearest even; denormal inputs and outputs flushed to zero, as vdpbf16ps).
// Callers check cpu_has_amx_bf16() first (the CPU has AMX-TILE + AMX-BF16 and Linux granted the tile
// state: recurrent/kernels/cpu.h).
//
// Tiles as the existing panels hold them (no packing of its own):
//   A tile  16 rows of A × 32 bf16 (16 k pairs), stride lda·2 bytes
//   B tile  16 k pairs × 16 columns of a panel [Kp/2][32][2]: rows kk of the panel, byte offset 0
//           (columns 0..15) or 64 (columns 16..31), stride 128 bytes
//   C tile  16 rows × 16 fp32 columns of C
// Row blocks of 32 (4 C, 2 A, 2 B tiles) then of 16; k in chunks of 32. What does not fill a tile goes
// to the AVX512_BF16 kernel: the rows past the last multiple of 16 and, when Kp is not a multiple of 32,
// the last Kp mod 32 terms (added to C afterwards). ncols < 32: C tiles go through a scratch block.
//
// Tile configuration is per thread: the first call on a thread loads this kernel's (LDTILECFG); the
// thread keeps it until release_tiles(). Anything else that may use tiles on the same thread (oneDNN's
// AMX kernels) must not run between a call and the release: the fused loops release at the end of each
// team member (rnn_fused.h: run_team).
#pragma once

#include <cstdint>

namespace recurrent::amx {

// C[M, 0:ncols] = (accumulate ? C : 0) + A[M, Kp] · P[Kp, 32]; columns past ncols (≤ 32) untouched.
void panel_gemm_amx(int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P, int64_t ncols,
                    float* C, int64_t ldc, bool accumulate);

// n panels against the same A: panel p at P + p·pstride into C + p·cstride, bitwise n calls of
// panel_gemm_amx (the same order per element), with each 32-row block of A read once for all n panels.
void panel_gemm_amx_n(int64_t n, int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P,
                      int64_t pstride, int64_t ncols, float* C, int64_t cstride, int64_t ldc, bool accumulate);

// TILERELEASE when this thread's tiles were configured by panel_gemm_amx (else nothing): returns the
// thread's tile state to its initial (unsaved) state.
void release_tiles();

}  // namespace recurrent::amx
