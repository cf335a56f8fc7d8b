// bf16 GEMMs through oneDNN's matmul (bf16 × bf16 → f32): see gemm_bf16.h. Primitives are cached per
// (M, N, K, operand strides, ldc, beta, threads), as the fp32 matmul path (onednn_matmul.cpp).
#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "kernels/avx512/panel_bf16.h"
#include "kernels/onednn_matmul.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {

namespace {
using dt = dnnl::memory::data_type;

struct Bf16Entry {
  bool ok = false;
  std::string impl;
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c;
  std::size_t scratch = 0;
};

// M, N, K, A's (rs, cs), B's (rs, cs), ldc, beta bits, threads
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, uint32_t, int>;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

std::shared_ptr<const Bf16Entry> make_entry(const Bf16View& A, const Bf16View& B, float beta, int64_t ldc) {
  auto e = std::make_shared<Bf16Entry>();
  e->a = dnnl::memory::desc({A.rows, A.cols}, dt::bf16, dnnl::memory::dims{A.rs, A.cs});
  e->b = dnnl::memory::desc({B.rows, B.cols}, dt::bf16, dnnl::memory::dims{B.rs, B.cs});
  e->c = dnnl::memory::desc({A.rows, B.cols}, dt::f32, dnnl::memory::dims{ldc, 1});
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->a, e->b, e->c), detail::matmul_attr(1.0f, beta),
                                    detail::dnnl_cpu_engine());
    e->scratch = pd.scratchpad_desc().get_size();
    e->impl = pd.impl_info_str();
    e->prim = dnnl::matmul(pd);
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;
  }
  return e;
}

std::shared_ptr<const Bf16Entry> entry(const Bf16View& A, const Bf16View& B, float beta, int64_t ldc) {
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<const Bf16Entry>> cache;
  const Key key{A.rows, B.cols, A.cols, A.rs, A.cs, B.rs, B.cs, ldc, bits(beta), num_threads()};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto made = make_entry(A, B, beta, ldc);  // outside the lock (milliseconds); first insert wins
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 256) cache.clear();
  return cache.try_emplace(key, std::move(made)).first->second;
}
}  // namespace

Bf16Matrix::Bf16Matrix(int64_t rows, int64_t cols, const float* src, int64_t lds)
    : rows_(rows), cols_(cols), buf_(Tensor::uninitialized({std::max<int64_t>(1, (rows * cols + 1) / 2)})) {
  RC_CHECK(rows >= 0 && cols >= 0 && lds >= cols, "Bf16Matrix", "bad shape [", rows, ", ", cols, "] with ld ", lds);
  uint16_t* dst = reinterpret_cast<uint16_t*>(buf_.data());
  const bool vec = cpu_has_avx512_bf16();
  constexpr int64_t kRows = 64;
  const int64_t chunks = (rows + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 18))
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const int64_t r0 = ch * kRows, n = std::min(kRows, rows - r0);
#if defined(__x86_64__)
    if (vec) {
      avx512::convert_rows_bf16(n, cols, src + r0 * lds, lds, dst + r0 * cols, cols);
      continue;
    }
#else
    (void)vec;  // no AVX512_BF16 off x86: the scalar rounding below
#endif
    {
      for (int64_t r = r0; r < r0 + n; ++r)
        for (int64_t j = 0; j < cols; ++j) dst[r * cols + j] = avx512::to_bf16(src[r * lds + j]);
    }
  }
}

std::string matmul_bf16_impl(const Bf16View& A, const Bf16View& B, float beta, int64_t ldc) {
  auto e = entry(A, B, beta, ldc);
  return e->ok ? e->impl : "";
}

void matmul_bf16(const Bf16View& A, const Bf16View& B, float beta, float* C, int64_t ldc) {
  RC_CHECK(A.cols == B.rows, "matmul_bf16", "inner sizes differ: A [", A.rows, ", ", A.cols, "], B [", B.rows, ", ",
           B.cols, "]");
  RC_CHECK(ldc >= B.cols, "matmul_bf16", "ldc=", ldc, " is smaller than N=", B.cols);
  const int64_t M = A.rows, N = B.cols, K = A.cols;
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  num_threads();  // the configured OpenMP thread count (part of the key)
  auto e = entry(A, B, beta, ldc);
  RC_CHECK(e->ok, "matmul_bf16", "oneDNN has no bf16 matmul for M=", M, " N=", N, " K=", K, " on this CPU");
  auto& eng = detail::dnnl_cpu_engine();
  dnnl::memory am(e->a, eng, const_cast<uint16_t*>(A.p)), bm(e->b, eng, const_cast<uint16_t*>(B.p)), cm(e->c, eng, C);
  detail::run_matmul(e->prim, e->scratch, am, bm, cm);
}

void gemm_bf16(Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  RC_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm_bf16", "expected M, N, K >= 0, got M=", M, " N=", N, " K=", K);
  RC_CHECK(lda >= K && ldb >= (tb == Trans::N ? N : K) && ldc >= N, "gemm_bf16", "leading dimensions too small");
  const Bf16Matrix a(M, K, A, lda);
  const Bf16Matrix b = tb == Trans::N ? Bf16Matrix(K, N, B, ldb) : Bf16Matrix(N, K, B, ldb);
  matmul_bf16(a.view(), tb == Trans::N ? b.view() : b.view().t(), beta, C, ldc);
}

}  // namespace recurrent
