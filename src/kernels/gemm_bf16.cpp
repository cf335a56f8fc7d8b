// bf16 GEMM through oneDNN's matmul (bf16 × bf16 → f32): see gemm_bf16.h. Primitives are cached per
// (transpose, M, N, K, ldc, beta, threads), as the fp32 matmul path (onednn_matmul.cpp); operands are
// converted into this thread's grow-only buffers (no page faults after the first call of a size).
#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
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

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, uint32_t, int>;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

std::shared_ptr<const Bf16Entry> make_entry(Trans tb, int64_t M, int64_t N, int64_t K, int64_t ldc, float beta) {
  auto e = std::make_shared<Bf16Entry>();
  e->a = dnnl::memory::desc({M, K}, dt::bf16, dnnl::memory::dims{K, 1});
  // The converted B is dense: [K, N] (row-major) or [N, K] (op(B) = its transpose).
  e->b = dnnl::memory::desc({K, N}, dt::bf16, tb == Trans::N ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K});
  e->c = dnnl::memory::desc({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
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

std::shared_ptr<const Bf16Entry> entry(Trans tb, int64_t M, int64_t N, int64_t K, int64_t ldc, float beta) {
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<const Bf16Entry>> cache;
  const Key key{static_cast<int>(tb), M, N, K, ldc, bits(beta), num_threads()};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  auto made = make_entry(tb, M, N, K, ldc, beta);  // outside the lock (milliseconds); first insert wins
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 256) cache.clear();
  return cache.try_emplace(key, std::move(made)).first->second;
}

// This thread's buffer `slot`, grown on demand, 64-byte aligned; freed at thread exit.
uint16_t* buffer(int slot, int64_t elems) {
  struct Buf {
    void* p = nullptr;
    std::size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf bufs[2];
  Buf& b = bufs[slot];
  const std::size_t bytes = static_cast<std::size_t>(elems) * sizeof(uint16_t);
  if (bytes > b.n) {
    std::free(b.p);
    b.n = (bytes + 63) / 64 * 64;
    b.p = std::aligned_alloc(64, b.n);
    if (!b.p) throw std::bad_alloc();
  }
  return static_cast<uint16_t*>(b.p);
}

// dst [rows, cols] dense = bf16(src [rows, cols], leading dimension lds); rows split over threads.
void convert(int64_t rows, int64_t cols, const float* src, int64_t lds, uint16_t* dst) {
  const bool vec = cpu_has_avx512_bf16();
  constexpr int64_t kRows = 64;
  const int64_t chunks = (rows + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 18))
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const int64_t r0 = ch * kRows, n = std::min(kRows, rows - r0);
    if (vec) {
      avx512::convert_rows_bf16(n, cols, src + r0 * lds, lds, dst + r0 * cols, cols);
    } else {
      for (int64_t r = r0; r < r0 + n; ++r)
        for (int64_t j = 0; j < cols; ++j) dst[r * cols + j] = avx512::to_bf16(src[r * lds + j]);
    }
  }
}
}  // namespace

const char* gemm_bf16_impl(Trans tb, int64_t M, int64_t N, int64_t K, float beta) {
  auto e = entry(tb, M, N, K, N, beta);
  return e->ok ? e->impl.c_str() : "";  // the cache keeps the entry alive (until cleared)
}

void gemm_bf16(Trans tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  RC_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm_bf16", "expected M, N, K >= 0, got M=", M, " N=", N, " K=", K);
  RC_CHECK(lda >= K && ldb >= (tb == Trans::N ? N : K) && ldc >= N, "gemm_bf16", "leading dimensions too small");
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  num_threads();  // the configured OpenMP thread count (part of the key)
  auto e = entry(tb, M, N, K, ldc, beta);
  RC_CHECK(e->ok, "gemm_bf16", "oneDNN has no bf16 matmul for M=", M, " N=", N, " K=", K, " on this CPU");
  uint16_t* ab = buffer(0, M * K);
  uint16_t* bb = buffer(1, K * N);
  convert(M, K, A, lda, ab);
  if (tb == Trans::N) {
    convert(K, N, B, ldb, bb);
  } else {
    convert(N, K, B, ldb, bb);
  }
  auto& eng = detail::dnnl_cpu_engine();
  dnnl::memory am(e->a, eng, ab), bm(e->b, eng, bb), cm(e->c, eng, C);
  detail::run_matmul(e->prim, e->scratch, am, bm, cm);
}

}  // namespace recurrent
