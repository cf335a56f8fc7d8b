// Internal: oneDNN matmul primitives behind gemm() and gemm_packed() (src/kernels/gemm*.cpp).
//
// Every primitive is created once per key and cached (thread-safe). Primitives use
// scratchpad_mode::user with a per-thread scratchpad, because Debian's oneDNN is built with the
// shared library scratchpad (DNNL_ENABLE_CONCURRENT_EXEC=OFF), under which a primitive must not be
// executed from a thread other than its creator; with a caller-provided scratchpad any thread may
// execute it. The OpenMP thread count is part of every key: oneDNN blocks for the thread count
// seen at creation.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

#include "recurrent/kernels/gemm.h"

namespace recurrent::detail {

dnnl::engine& dnnl_cpu_engine();

// Attributes for C = alpha·(A·B) + beta·C (output scale, sum post-op), user scratchpad.
dnnl::primitive_attr matmul_attr(float alpha, float beta);

// Runs `prim` on the given memories with this thread's stream and scratchpad; waits.
void run_matmul(const dnnl::matmul& prim, std::size_t scratch_bytes, const dnnl::memory& src,
                const dnnl::memory& weights, const dnnl::memory& dst);

// Plain 2-D f32 descriptor [rows, cols]: row-major (Trans::N) or its transpose with leading dim ld.
dnnl::memory::desc plain_desc(int64_t rows, int64_t cols, Trans t, int64_t ld);

// gemm() through a cached matmul primitive on the caller's strided operands. Returns false
// (having done nothing) when oneDNN has no implementation for this layout; the caller falls back.
bool matmul_plain(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace recurrent::detail
