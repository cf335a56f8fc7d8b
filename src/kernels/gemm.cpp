// GEMM dispatch: chooses between oneDNN's sgemm and its matmul primitive (src/kernels/
// onednn_matmul.cpp), or runs the naive reference. See include/recurrent/kernels/gemm.h.
#include "recurrent/kernels/gemm.h"

#include <dnnl.h>

#include <algorithm>
#include <atomic>

#include "kernels/onednn_matmul.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

namespace recurrent {

namespace {
std::atomic<GemmBackend> g_backend{GemmBackend::onednn};

void check_args(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  RC_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm", "expected M, N, K >= 0, got M=", M, " N=", N, " K=", K);
  // Row length of each stored operand: A is [M, K] (N) or [K, M] (T); B is [K, N] or [N, K].
  const int64_t a_row = ta == Trans::N ? K : M, b_row = tb == Trans::N ? N : K;
  RC_CHECK(lda >= std::max<int64_t>(1, a_row), "gemm", "lda=", lda, " is smaller than A's row length ", a_row);
  RC_CHECK(ldb >= std::max<int64_t>(1, b_row), "gemm", "ldb=", ldb, " is smaller than B's row length ", b_row);
  RC_CHECK(ldc >= std::max<int64_t>(1, N), "gemm", "ldc=", ldc, " is smaller than C's row length ", N);
}

void sgemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  dnnl_status_t st = dnnl_sgemm(ta == Trans::N ? 'N' : 'T', tb == Trans::N ? 'N' : 'T', M, N, K, alpha, A, lda,
                                B, ldb, beta, C, ldc);
  RC_CHECK(st == dnnl_success, "gemm", "dnnl_sgemm failed (status ", static_cast<int>(st), ") for M=", M,
           " N=", N, " K=", K);
}

// The measured rule (bench/bench_gemm.cpp, docs/gemm.md; Zen 5, 2 threads). With B transposed
// (x·Wᵀ, the layout of PyTorch weights) dnnl_sgemm falls to 130-260 GFLOP/s on some shapes
// (64×512×2048: 134-195; 6400×2048×512: 261) where the matmul primitive keeps 280-400, and it loses
// at most ~5% elsewhere (6400×512×2048). With B plain, sgemm is as fast or faster (64×256×1024 N·N:
// 366 vs 268). gemv-like shapes (M or N = 1) run 3-4× faster in sgemm (60 vs 15 GFLOP/s).
// A static rule rather than run-time auto-tuning: the two paths round differently, and results
// must not depend on timing (same seed and thread count, same result).
GemmBackend choose_path(Trans tb, int64_t M, int64_t N) {
  if (M == 1 || N == 1) return GemmBackend::onednn_sgemm;
  return tb == Trans::T ? GemmBackend::onednn_matmul : GemmBackend::onednn_sgemm;
}
}  // namespace

void set_gemm_backend(GemmBackend b) { g_backend = b; }
GemmBackend gemm_backend() { return g_backend; }
const char* gemm_backend_name(GemmBackend b) {
  switch (b) {
    case GemmBackend::onednn: return "onednn";
    case GemmBackend::onednn_sgemm: return "onednn_sgemm";
    case GemmBackend::onednn_matmul: return "onednn_matmul";
    case GemmBackend::reference: return "reference";
  }
  return "?";
}

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
  check_args(ta, tb, M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta·C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  GemmBackend b = g_backend;
  if (b == GemmBackend::reference) return gemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  num_threads();  // make sure the OpenMP thread count oneDNN uses is the configured one
  // A small product runs on one thread (core/threads.h: min_parallel_work)
  ThreadScope fit(threads_for(static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K)));
  if (b == GemmBackend::onednn) b = choose_path(tb, M, N);
  if (b == GemmBackend::onednn_matmul &&
      detail::matmul_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
  sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace recurrent
