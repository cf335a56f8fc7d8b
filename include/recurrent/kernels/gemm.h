// recurrent/kernels/gemm.h — the one GEMM interface of the library.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]        (row-major, leading dims given)
//
// op(X) = X (Trans::N) or Xᵀ (Trans::T): with Trans::T, A is stored as [K, M] (lda ≥ M).
// Two implementations: the fast backend (oneDNN's dnnl_sgemm, chosen by measurement: see README,
// "GEMM backend") and a naive reference used as test oracle. The backend is switched in one place,
// set_gemm_backend(); everything in the library calls gemm().
#pragma once

#include <cstdint>

namespace recurrent {

enum class Trans { N, T };
enum class GemmBackend { onednn, reference };

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Triple loop with double accumulation: slow, obviously correct.
void gemm_reference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void set_gemm_backend(GemmBackend b);
GemmBackend gemm_backend();
const char* gemm_backend_name(GemmBackend b);

}  // namespace recurrent
