// Internal: the bf16 GEMM of the recurrent layers' big products in bf16 precision (the input
// projection X·W_ihᵀ and dX = dA·W_ih; src/nn/rnn_direction.cpp). Implementation: gemm_bf16.cpp.
//
//   C[M, N] = bf16(A)[M, K] · op(bf16(B))[K, N] + beta · C
//
// A [M, K] row-major (lda ≥ K); B [K, N] (Trans::N, ldb ≥ N) or [N, K] (Trans::T, ldb ≥ K); C [M, N]
// fp32 (ldc ≥ N). Both operands are rounded to bf16 (nearest even, as vcvtneps2bf16: panel_bf16.h)
// into per-thread buffers, then multiplied by a cached oneDNN matmul primitive with bf16 source and
// weights and an f32 destination (fp32 accumulation). Needs AVX512_BF16 (callers check
// cpu_has_avx512_bf16(); the conversion also has a scalar path, oneDNN picks its own kernels).
// beta == 0 overwrites C (never read).
#pragma once

#include <cstdint>

#include "recurrent/kernels/gemm.h"

namespace recurrent {

void gemm_bf16(Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
               float beta, float* C, int64_t ldc);

// Which oneDNN implementation gemm_bf16 runs for this shape (e.g. "brg:avx512_core_bf16"), for tests
// and benchmarks; "" if oneDNN has none.
const char* gemm_bf16_impl(Trans tb, int64_t M, int64_t N, int64_t K, float beta);

}  // namespace recurrent
