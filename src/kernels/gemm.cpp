// GEMM dispatch: oneDNN sgemm (fast) or the naive reference. See include/recurrent/kernels/gemm.h.
#include "recurrent/kernels/gemm.h"

#include <dnnl.h>

#include <atomic>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

namespace recurrent {

namespace {
std::atomic<GemmBackend> g_backend{GemmBackend::onednn};
}

void set_gemm_backend(GemmBackend b) { g_backend = b; }
GemmBackend gemm_backend() { return g_backend; }
const char* gemm_backend_name(GemmBackend b) { return b == GemmBackend::onednn ? "onednn" : "reference"; }

void gemm_reference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        float a = ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
        float b = tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
        acc += static_cast<double>(a) * b;
      }
      float& c = C[i * ldc + j];
      // beta == 0 overwrites (C may hold garbage, as in BLAS).
      c = static_cast<float>(alpha * acc + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * c));
    }
  }
}

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta·C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  if (g_backend == GemmBackend::reference) {
    gemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  num_threads();  // make sure the OpenMP thread count oneDNN uses is the configured one
  dnnl_status_t st = dnnl_sgemm(ta == Trans::N ? 'N' : 'T', tb == Trans::N ? 'N' : 'T', M, N, K, alpha, A, lda,
                                B, ldb, beta, C, ldc);
  RC_CHECK(st == dnnl_success, "gemm", "dnnl_sgemm failed (status ", static_cast<int>(st), ") for M=", M,
           " N=", N, " K=", K);
}

}  // namespace recurrent
