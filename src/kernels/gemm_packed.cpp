// Pre-packed right-hand operand: pack_b() reorders op(B)[K, N] once into the blocked layout
// oneDNN's matmul prefers for it; gemm_packed() multiplies by it with a primitive cached inside the
// PackedMatrix per (M, lda, ldc, beta, threads). Measured on the project machine (docs/gemm.md):
// the blocked layout does not depend on M, so one packing serves batch 1 and batch 6400 alike.
//   A: [M, K] (lda ≥ K), packed op(B): [K, N], C: [M, N] (ldc ≥ N)
#include <dnnl.h>

#include <bit>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "kernels/onednn_matmul.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {

namespace detail {
struct PackedEntry {
  bool ok = false;  // false: no implementation with the packed layout for this M: unpack + sgemm
  dnnl::matmul prim;
  dnnl::memory::desc a, c;
  std::size_t scratch = 0;
};

struct PackedImpl {
  int64_t K = 0, N = 0;
  dnnl::memory::desc wdesc;  // op(B) [K, N] in the primitive's preferred layout
  dnnl::memory w;            // owns the packed buffer
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t, uint32_t, int>, std::shared_ptr<const PackedEntry>> prims;
};
}  // namespace detail

int64_t PackedMatrix::K() const { return impl_ ? impl_->K : 0; }
int64_t PackedMatrix::N() const { return impl_ ? impl_->N : 0; }
std::size_t PackedMatrix::bytes() const { return impl_ ? impl_->wdesc.get_size() : 0; }

namespace {
using detail::PackedEntry;
using detail::PackedImpl;

// The layout hint uses M = 64 (one training batch); the measured layout is the same for M = 1..6400.
constexpr int64_t kLayoutHintM = 64;

std::shared_ptr<const PackedEntry> make_entry(const PackedImpl& p, int64_t M, int64_t lda, float beta,
                                              int64_t ldc) {
  auto e = std::make_shared<PackedEntry>();
  e->a = detail::plain_desc(M, p.K, Trans::N, lda);
  e->c = detail::plain_desc(M, p.N, Trans::N, ldc);
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->a, p.wdesc, e->c), detail::matmul_attr(1.0f, beta),
                                    detail::dnnl_cpu_engine());
    e->scratch = pd.scratchpad_desc().get_size();
    e->prim = dnnl::matmul(pd);
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;
  }
  return e;
}

// Fallback (not taken on the project machine): reorder the packed B back to plain [K, N], sgemm.
void unpacked_gemm(const PackedImpl& p, int64_t M, const float* A, int64_t lda, float beta, float* C,
                   int64_t ldc) {
  thread_local std::vector<float> plain;
  plain.resize(static_cast<std::size_t>(p.K * p.N));
  dnnl::memory pm(detail::plain_desc(p.K, p.N, Trans::N, p.N), detail::dnnl_cpu_engine(), plain.data());
  dnnl::stream strm(detail::dnnl_cpu_engine());
  dnnl::memory w = p.w;
  dnnl::reorder(w, pm).execute(strm, w, pm);
  strm.wait();
  gemm(Trans::N, Trans::N, M, p.N, p.K, 1.0f, A, lda, plain.data(), p.N, beta, C, ldc);
}
}  // namespace

PackedMatrix pack_b(const float* B, int64_t K, int64_t N, Trans tb, int64_t ldb) {
  if (ldb == 0) ldb = tb == Trans::N ? N : K;
  RC_CHECK(K >= 1 && N >= 1, "pack_b", "expected K, N >= 1, got K=", K, " N=", N);
  RC_CHECK(ldb >= (tb == Trans::N ? N : K), "pack_b", "ldb=", ldb, " is smaller than the row length ",
           tb == Trans::N ? N : K);
  RC_CHECK(B != nullptr, "pack_b", "B is null");
  auto impl = std::make_shared<PackedImpl>();
  impl->K = K;
  impl->N = N;
  auto& eng = detail::dnnl_cpu_engine();
  dnnl::memory::desc a = detail::plain_desc(kLayoutHintM, K, Trans::N, K);
  dnnl::memory::desc c = detail::plain_desc(kLayoutHintM, N, Trans::N, N);
  dnnl::memory::desc w_any({K, N}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, w_any, c), detail::matmul_attr(1.0f, 0.0f), eng);
  impl->wdesc = pd.weights_desc();
  impl->w = dnnl::memory(impl->wdesc, eng);
  dnnl::memory user(detail::plain_desc(K, N, tb, ldb), eng, const_cast<float*>(B));
  dnnl::stream strm(eng);
  dnnl::reorder(user, impl->w).execute(strm, user, impl->w);
  strm.wait();
  PackedMatrix out;
  out.impl_ = std::move(impl);
  return out;
}

void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedMatrix& B, float beta, float* C,
                 int64_t ldc) {
  RC_CHECK(!B.empty(), "gemm_packed", "the packed matrix is empty (call pack_b first)");
  auto& p = const_cast<PackedImpl&>(*B.impl());  // only the primitive cache is mutated, under p.mu
  RC_CHECK(M >= 0 && lda >= p.K && ldc >= p.N, "gemm_packed", "expected M >= 0, lda >= K=", p.K,
           ", ldc >= N=", p.N, "; got M=", M, " lda=", lda, " ldc=", ldc);
  if (M == 0) return;
  const auto key = std::make_tuple(M, lda, ldc, std::bit_cast<uint32_t>(beta), num_threads());
  std::shared_ptr<const PackedEntry> e;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.prims.find(key);
    if (it != p.prims.end()) e = it->second;
  }
  if (!e) {
    auto made = make_entry(p, M, lda, beta, ldc);
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.prims.size() >= 256) p.prims.clear();
    e = p.prims.try_emplace(key, std::move(made)).first->second;
  }
  if (!e->ok) return unpacked_gemm(p, M, A, lda, beta, C, ldc);
  auto& eng = detail::dnnl_cpu_engine();
  dnnl::memory am(e->a, eng, const_cast<float*>(A));
  dnnl::memory cm(e->c, eng, C);
  detail::run_matmul(e->prim, e->scratch, am, p.w, cm);
}

}  // namespace recurrent
