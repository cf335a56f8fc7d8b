// recurrent/kernels/gemm.h — the one GEMM interface of the library.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]        (row-major, leading dims given)
//
// op(X) = X (Trans::N) or Xᵀ (Trans::T): with Trans::T, A is stored as [K, M] (lda ≥ M).
// beta == 0 overwrites C (C may hold garbage, even NaN, as in BLAS); K == 0 gives C = beta·C.
//
// Backends (chosen by measurement on the project machine, see docs/gemm.md):
//   onednn          the default: per call, the faster of the two oneDNN paths below (rule in
//                   src/kernels/gemm.cpp, choose_path()).
//   onednn_sgemm    dnnl_sgemm: best with B not transposed and for gemv-like shapes (M or N = 1).
//   onednn_matmul   oneDNN matmul primitive on the plain strided operands, one primitive per
//                   (shape, transposes, leading dims, alpha, beta, threads), created once and cached;
//                   up to 2× dnnl_sgemm with B transposed (x·Wᵀ) on 2 threads.
//   reference       triple loop with double accumulation: slow, obviously correct; the test oracle.
// The backend is switched in one place, set_gemm_backend(); everything in the library calls gemm().
//
// Pre-packed weights (the recurrent step multiplies the same W_hh at every time step):
//   PackedMatrix P = pack_b(W, K, N, Trans::T);           // once: W stored [N, K] (like W_hh [4H, H])
//   gemm_packed(M, h, lda, P, beta, C, ldc);             // each step: C[M,N] = h[M,K]·op(W) + beta·C
// P holds op(B) reordered into the blocked layout oneDNN's matmul prefers (copied: the caller's B
// may change or die afterwards; re-pack after an optimizer step). All functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>

namespace recurrent {

enum class Trans { N, T };
enum class GemmBackend { onednn, onednn_sgemm, onednn_matmul, reference };

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Triple loop with double accumulation: slow, obviously correct.
void gemm_reference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void set_gemm_backend(GemmBackend b);
GemmBackend gemm_backend();
const char* gemm_backend_name(GemmBackend b);

// ---- pre-packed right-hand operand ------------------------------------------------------------
namespace detail {
struct PackedImpl;
}

// op(B)[K, N] in oneDNN's blocked weights layout. Cheap to copy (shared, immutable).
class PackedMatrix {
 public:
  PackedMatrix() = default;
  int64_t K() const;
  int64_t N() const;
  bool empty() const { return impl_ == nullptr; }
  std::size_t bytes() const;  // size of the packed buffer
  const detail::PackedImpl* impl() const { return impl_.get(); }

 private:
  friend PackedMatrix pack_b(const float*, int64_t, int64_t, Trans, int64_t);
  std::shared_ptr<detail::PackedImpl> impl_;
};

// B: [K, N] (tb = N, ldb ≥ N) or [N, K] (tb = T, ldb ≥ K); ldb = 0 means the minimal one.
PackedMatrix pack_b(const float* B, int64_t K, int64_t N, Trans tb, int64_t ldb = 0);

// C[M, N] = A[M, K] · op(B) + beta · C, with op(B) from pack_b; A row-major (lda ≥ K), ldc ≥ N.
void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedMatrix& B, float beta, float* C,
                 int64_t ldc);

}  // namespace recurrent
