// oneDNN matmul primitives for gemm(): a thread-safe cache of primitives, one per key
// (transposes, M, N, K, leading dims, alpha, beta, OpenMP threads), and the shared execution
// helpers (per-thread stream and scratchpad). See src/kernels/onednn_matmul.h.
#include "kernels/onednn_matmul.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "recurrent/core/threads.h"
#include "recurrent/kernels/target.h"

namespace recurrent::detail {

using dt = dnnl::memory::data_type;

dnnl::engine& dnnl_cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::primitive_attr matmul_attr(float alpha, float beta) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {  // beta == 0: C is never read, so garbage (NaN) in C is overwritten
    dnnl::post_ops po;
    po.append_sum(beta);
    attr.set_post_ops(po);
  }
  return attr;
}

namespace {
// This thread's scratchpad, grown on demand, 64-byte aligned; freed at thread exit.
void* thread_scratch(std::size_t bytes) {
  struct Buf {
    void* p = nullptr;
    std::size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf buf;
  if (bytes > buf.n) {
    std::free(buf.p);
    buf.n = (bytes + 63) / 64 * 64;
    buf.p = std::aligned_alloc(64, buf.n);
    if (!buf.p) throw std::bad_alloc();
  }
  return buf.p;
}
}  // namespace

void run_matmul(const dnnl::matmul& prim, std::size_t scratch_bytes, const dnnl::memory& src,
                const dnnl::memory& weights, const dnnl::memory& dst) {
  thread_local dnnl::stream strm(dnnl_cpu_engine());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights},
                                             {DNNL_ARG_DST, dst}};
  if (scratch_bytes > 0)
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory({{static_cast<int64_t>(scratch_bytes)}, dt::u8, dnnl::memory::format_tag::a},
                              dnnl_cpu_engine(), thread_scratch(scratch_bytes)));
  prim.execute(strm, args);
  strm.wait();
}

dnnl::memory::desc plain_desc(int64_t rows, int64_t cols, Trans t, int64_t ld) {
  // Trans::N: element (r, c) at r·ld + c;  Trans::T: stored transposed, (r, c) at c·ld + r.
  dnnl::memory::dims strides = t == Trans::N ? dnnl::memory::dims{ld, 1} : dnnl::memory::dims{1, ld};
  return dnnl::memory::desc({rows, cols}, dt::f32, strides);
}

namespace {
struct PlainEntry {
  bool ok = false;  // false: oneDNN has no implementation for this layout (remembered, not retried)
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c;
  std::size_t scratch = 0;
};

using PlainKey = std::tuple<int, int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, uint32_t,
                            uint32_t, int>;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

std::shared_ptr<const PlainEntry> make_plain(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                                             float alpha, int64_t lda, int64_t ldb, float beta,
                                             int64_t ldc) {
  auto e = std::make_shared<PlainEntry>();
  e->a = plain_desc(M, K, ta, lda);  // op(A): [M, K]
  e->b = plain_desc(K, N, tb, ldb);  // op(B): [K, N]
  e->c = plain_desc(M, N, Trans::N, ldc);
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->a, e->b, e->c), matmul_attr(alpha, beta),
                                    dnnl_cpu_engine());
    e->scratch = pd.scratchpad_desc().get_size();
    e->prim = dnnl::matmul(pd);
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;
  }
  return e;
}
}  // namespace

bool matmul_plain(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  static std::mutex mu;
  static std::map<PlainKey, std::shared_ptr<const PlainEntry>> cache;
  constexpr std::size_t kMaxEntries = 1024;  // bound memory if callers vary alpha/beta freely

  const PlainKey key{static_cast<int>(ta), static_cast<int>(tb), M, N, K, lda, ldb, ldc,
                     bits(alpha), bits(beta), omp_get_max_threads()};  // this call's team (ThreadScope)
  std::shared_ptr<const PlainEntry> e;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) e = it->second;
  }
  if (!e) {  // created outside the lock (can take milliseconds); first insert wins
    auto made = make_plain(ta, tb, M, N, K, alpha, lda, ldb, beta, ldc);
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxEntries) cache.clear();  // in-flight users keep their shared_ptr
    e = cache.try_emplace(key, std::move(made)).first->second;
  }
  if (!e->ok) return false;
  auto& eng = dnnl_cpu_engine();
  dnnl::memory am(e->a, eng, const_cast<float*>(A));
  dnnl::memory bm(e->b, eng, const_cast<float*>(B));
  dnnl::memory cm(e->c, eng, C);
  run_matmul(e->prim, e->scratch, am, bm, cm);
  return true;
}

}  // namespace recurrent::detail

namespace recurrent::simd {

bool limit_onednn_isa(int64_t target) {
  const std::string name = target_name(target);
  dnnl::cpu_isa isa;
  if (avx512_target(target)) {
    isa = dnnl::cpu_isa::avx512_core;
  } else if (name == "avx2") {
    isa = dnnl::cpu_isa::avx2;
  } else if (name == "sse4" || name == "ssse3") {
    isa = dnnl::cpu_isa::sse41;
  } else {
    return false;  // no oneDNN level for this target (e.g. aarch64's own ISA list)
  }
  try {
    return dnnl::set_max_cpu_isa(isa) == dnnl::status::success;
  } catch (const dnnl::error&) {
    return false;  // oneDNN was used already: the level is fixed for the process
  }
}

}  // namespace recurrent::simd
