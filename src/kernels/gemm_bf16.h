// Internal: the bf16 GEMMs of the recurrent layers' big products in bf16 precision (the input
// projection X·W_ihᵀ, dX = dA·W_ih and the weight gradients dW = dAᵀ·X, ...; src/nn/rnn_direction.cpp).
// Implementation: gemm_bf16.cpp.
//
// Operands are fp32 matrices rounded to bf16 (nearest even, as vcvtneps2bf16: panel_bf16.h) once
// into a Bf16Matrix, so one conversion serves several products (dA feeds dX, dW_ih and dW_hh); a
// Bf16View picks a transposed or column-sliced view of it without copying. matmul_bf16 runs a cached
// oneDNN matmul primitive with bf16 source and weights and an f32 destination (fp32 accumulation),
// one per (shape, strides, ldc, beta, threads). Needs AVX512_BF16 for speed (callers check
// cpu_has_avx512_bf16(); the conversion also has a scalar path and oneDNN picks its own kernels).
#pragma once

#include <cstdint>
#include <string>

#include "recurrent/core/tensor.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {

// Element (i, j) of a bf16 matrix at p[i·rs + j·cs] (row-major: cs = 1; a transposed view: rs = 1).
struct Bf16View {
  const uint16_t* p = nullptr;
  int64_t rows = 0, cols = 0, rs = 0, cs = 1;
  Bf16View t() const { return {p, cols, rows, cs, rs}; }  // the transpose
  Bf16View columns(int64_t j0, int64_t n) const { return {p + j0 * cs, rows, n, rs, cs}; }
};

// bf16(src) for src [rows, cols] (leading dimension lds), dense row-major; rows split over threads.
class Bf16Matrix {
 public:
  Bf16Matrix() = default;
  Bf16Matrix(int64_t rows, int64_t cols, const float* src, int64_t lds);
  Bf16View view() const { return {data(), rows_, cols_, cols_, 1}; }
  const uint16_t* data() const { return reinterpret_cast<const uint16_t*>(buf_.data()); }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

 private:
  int64_t rows_ = 0, cols_ = 0;
  Tensor buf_;  // ⌈rows·cols/2⌉ floats holding the bf16 values (the storage cache, huge pages)
};

// C[M, N] = A[M, K] · B[K, N] + beta · C, C fp32 row-major (ldc ≥ N); beta == 0 never reads C.
void matmul_bf16(const Bf16View& A, const Bf16View& B, float beta, float* C, int64_t ldc);

// Convenience: C[M, N] = bf16(A)[M, K] · op(bf16(B)) + beta · C, with A [M, K] (lda ≥ K) and B [K, N]
// (Trans::N, ldb ≥ N) or [N, K] (Trans::T, ldb ≥ K) converted first.
void gemm_bf16(Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
               float beta, float* C, int64_t ldc);

// Which oneDNN implementation matmul_bf16 runs for these views (e.g. "brg:avx512_core_bf16"), for
// tests and benchmarks; "" if oneDNN has none.
std::string matmul_bf16_impl(const Bf16View& A, const Bf16View& B, float beta, int64_t ldc);

}  // namespace recurrent
