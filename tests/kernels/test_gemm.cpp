// GEMM backends (onednn auto choice, dnnl_sgemm, matmul primitive, pre-packed B) against the naive
// double-accumulating reference, over odd shapes, all transposes, padded leading dims, alpha/beta.
//
// Tolerance (worst-case float dot-product error, Higham, "Accuracy and Stability of Numerical
// Algorithms", §3.1): a float sum of K products, in any order and with or without FMA, is within
// γ_K·Σ_k|a_ik·b_kj| of the exact value, γ_K = K·u/(1 - K·u), u = 2⁻²⁴. The scaling by alpha, the
// beta·C term and the final rounding add a few more u relative to |alpha|·Σ|a·b| + |beta·c|. The
// reference itself is exact to ~1e-16 before its one rounding to float. So per element:
//   |fast - ref| ≤ (K + 4)·u·(|alpha|·Σ_k|a_ik·b_kj| + |beta·c_ij|) + u·|ref|  (+ tiny floor)
// A wrong transpose, stride or beta handling gives errors of order |ref| ~ sqrt(K)/3, far above it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {
namespace {

constexpr float kU = std::numeric_limits<float>::epsilon() / 2;  // unit roundoff 2⁻²⁴
const float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kPadSentinel = -12345.0f;  // C's padding columns (ldc > N) must keep it

struct Problem {
  Trans ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  std::vector<float> A, B, C0;  // C0: C before the call (NaN everywhere when beta == 0)

  std::string describe() const {
    std::ostringstream os;
    os << "ta=" << (ta == Trans::N ? 'N' : 'T') << " tb=" << (tb == Trans::N ? 'N' : 'T') << " M=" << M
       << " N=" << N << " K=" << K << " lda=" << lda << " ldb=" << ldb << " ldc=" << ldc
       << " alpha=" << alpha << " beta=" << beta;
    return os.str();
  }
};

// pad: extra elements per stored row beyond the minimal leading dimension.
Problem make_problem(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, int64_t pad, float alpha,
                     float beta, Rng& rng) {
  Problem p{ta, tb, M, N, K, 0, 0, 0, alpha, beta, {}, {}, {}};
  const int64_t a_rows = ta == Trans::N ? M : K, a_cols = ta == Trans::N ? K : M;
  const int64_t b_rows = tb == Trans::N ? K : N, b_cols = tb == Trans::N ? N : K;
  p.lda = a_cols + pad;
  p.ldb = b_cols + pad;
  p.ldc = N + pad;
  // Padding of A and B holds NaN: reading it would poison the result.
  p.A.assign(static_cast<size_t>(std::max<int64_t>(a_rows, 1) * p.lda), kNaN);
  p.B.assign(static_cast<size_t>(std::max<int64_t>(b_rows, 1) * p.ldb), kNaN);
  p.C0.assign(static_cast<size_t>(std::max<int64_t>(M, 1) * p.ldc), kPadSentinel);
  for (int64_t r = 0; r < a_rows; ++r)
    for (int64_t c = 0; c < a_cols; ++c) p.A[r * p.lda + c] = rng.uniform(-1.0f, 1.0f);
  for (int64_t r = 0; r < b_rows; ++r)
    for (int64_t c = 0; c < b_cols; ++c) p.B[r * p.ldb + c] = rng.uniform(-1.0f, 1.0f);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) p.C0[i * p.ldc + j] = beta == 0.0f ? kNaN : rng.uniform(-1.0f, 1.0f);
  return p;
}

// Per-element bound from the header comment; Σ|a·b| computed in double.
double bound(const Problem& p, int64_t i, int64_t j, double ref) {
  double abs_sum = 0.0;
  for (int64_t k = 0; k < p.K; ++k) {
    double a = p.ta == Trans::N ? p.A[i * p.lda + k] : p.A[k * p.lda + i];
    double b = p.tb == Trans::N ? p.B[k * p.ldb + j] : p.B[j * p.ldb + k];
    abs_sum += std::fabs(a * b);
  }
  double c_term = p.beta == 0.0f ? 0.0 : std::fabs(p.beta * p.C0[i * p.ldc + j]);
  return (p.K + 4) * kU * (std::fabs(p.alpha) * abs_sum + c_term) + kU * std::fabs(ref) + 1e-30;
}

// Compares C against the reference result; reports the worst element (ratio error / bound).
void expect_close(const Problem& p, const std::vector<float>& C, const std::vector<float>& R,
                  const std::string& what) {
  double worst = 0.0;
  int64_t wi = -1, wj = -1;
  for (int64_t i = 0; i < p.M; ++i) {
    for (int64_t j = 0; j < p.ldc; ++j) {
      const float c = C[i * p.ldc + j], r = R[i * p.ldc + j];
      if (j >= p.N) {  // padding column: untouched
        ASSERT_EQ(c, kPadSentinel) << what << " wrote C padding at (" << i << ", " << j << ") " << p.describe();
        continue;
      }
      double ratio = std::isfinite(c) ? std::fabs(double(c) - r) / bound(p, i, j, r) : INFINITY;
      if (!(ratio <= worst)) worst = ratio, wi = i, wj = j;
    }
  }
  EXPECT_LE(worst, 1.0) << what << " " << p.describe() << ": worst element (" << wi << ", " << wj
                        << ") = " << C[wi * p.ldc + wj] << ", reference " << R[wi * p.ldc + wj]
                        << ", error/bound " << worst;
}

std::vector<float> run(const Problem& p, GemmBackend b) {
  std::vector<float> C = p.C0;
  set_gemm_backend(b);
  gemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A.data(), p.lda, p.B.data(), p.ldb, p.beta, C.data(), p.ldc);
  set_gemm_backend(GemmBackend::onednn);
  return C;
}

std::vector<float> reference(const Problem& p) {
  std::vector<float> R = p.C0;
  gemm_reference(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A.data(), p.lda, p.B.data(), p.ldb, p.beta, R.data(),
                 p.ldc);
  return R;
}

struct Shape {
  int64_t M, N, K;
};
// Odd sizes, gemv-like (M or N = 1), K = 1, a full SIMD block plus a tail, one LSTM-like step.
const Shape kShapes[] = {{1, 1, 1},   {1, 37, 19},  {29, 1, 31},  {7, 13, 5},   {17, 33, 65},
                         {64, 96, 1}, {3, 130, 47}, {100, 77, 300}, {64, 256, 64}, {33, 48, 129}};
struct AlphaBeta {
  float alpha, beta;
};
const AlphaBeta kAlphaBeta[] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.7f}, {2.0f, 0.0f}};

class GemmBackends : public ::testing::TestWithParam<GemmBackend> {};

TEST_P(GemmBackends, MatchesReferenceOnAllTransposesLeadingDimsAndScalars) {
  Rng rng(20240607);
  for (const Shape& s : kShapes)
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T})
        for (int64_t pad : {0, 3})
          for (const AlphaBeta& ab : kAlphaBeta) {
            Problem p = make_problem(ta, tb, s.M, s.N, s.K, pad, ab.alpha, ab.beta, rng);
            expect_close(p, run(p, GetParam()), reference(p), gemm_backend_name(GetParam()));
          }
}

TEST_P(GemmBackends, SameResultOnOneAndTwoThreads) {
  // Each thread count gets its own cached primitive; both must be right.
  Rng rng(7);
  const int saved = num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (Trans tb : {Trans::N, Trans::T}) {
      Problem p = make_problem(Trans::N, tb, 64, 512, 128, 1, 1.0f, 1.0f, rng);
      expect_close(p, run(p, GetParam()), reference(p), std::string("threads=") + std::to_string(t));
    }
  }
  set_num_threads(saved);
}

INSTANTIATE_TEST_SUITE_P(Kernels, GemmBackends,
                         ::testing::Values(GemmBackend::onednn, GemmBackend::onednn_sgemm,
                                           GemmBackend::onednn_matmul),
                         [](const auto& info) { return std::string(gemm_backend_name(info.param)); });

TEST(Gemm, KZeroScalesC) {
  // K = 0: op(A)·op(B) is the empty sum, so C = beta·C; beta = 0 must clear NaN garbage.
  std::vector<float> C = {1.0f, kNaN, 3.0f, -4.0f};
  gemm(Trans::N, Trans::N, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2);
  EXPECT_EQ(C[0], 0.5f);
  EXPECT_TRUE(std::isnan(C[1]));  // 0.5·NaN stays NaN (beta ≠ 0 reads C)
  EXPECT_EQ(C[3], -2.0f);
  gemm(Trans::N, Trans::N, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.0f, C.data(), 2);
  for (float c : C) EXPECT_EQ(c, 0.0f);
}

TEST(Gemm, RejectsBadLeadingDimensions) {
  std::vector<float> A(16), B(16), C(16);
  EXPECT_THROW(gemm(Trans::N, Trans::N, 4, 4, 4, 1.0f, A.data(), 3, B.data(), 4, 0.0f, C.data(), 4), Error);
  EXPECT_THROW(gemm(Trans::N, Trans::T, 4, 4, 4, 1.0f, A.data(), 4, B.data(), 2, 0.0f, C.data(), 4), Error);
  EXPECT_THROW(gemm(Trans::N, Trans::N, 4, 4, 4, 1.0f, A.data(), 4, B.data(), 4, 0.0f, C.data(), 3), Error);
  EXPECT_THROW(gemm(Trans::N, Trans::N, -1, 4, 4, 1.0f, A.data(), 4, B.data(), 4, 0.0f, C.data(), 4), Error);
}

TEST(Gemm, ConcurrentCallersShareTheCacheSafely) {
  // Primitives are shared between threads (user scratchpad per thread): run the same shapes from
  // two std::threads at once and compare each with the reference.
  Rng rng(99);
  std::vector<Problem> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(make_problem(Trans::N, Trans::T, 48, 96, 80, i % 2, 1.0f, 0.0f, rng));
  std::vector<std::vector<float>> out(ps.size());
  auto worker = [&](size_t first) {
    for (int rep = 0; rep < 20; ++rep)
      for (size_t i = first; i < ps.size(); i += 2) {
        out[i] = ps[i].C0;
        gemm(ps[i].ta, ps[i].tb, ps[i].M, ps[i].N, ps[i].K, ps[i].alpha, ps[i].A.data(), ps[i].lda,
             ps[i].B.data(), ps[i].ldb, ps[i].beta, out[i].data(), ps[i].ldc);
      }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  for (size_t i = 0; i < ps.size(); ++i) expect_close(ps[i], out[i], reference(ps[i]), "concurrent");
}

// ---- pre-packed B ----------------------------------------------------------------------------

TEST(GemmPacked, MatchesReference) {
  Rng rng(31337);
  const Shape shapes[] = {{1, 96, 24}, {3, 130, 47}, {64, 256, 64}, {17, 1, 9}, {65, 40, 200}};
  for (const Shape& s : shapes)
    for (Trans tb : {Trans::N, Trans::T})
      for (int64_t pad : {0, 5})
        for (float beta : {0.0f, 1.0f, 0.25f}) {
          Problem p = make_problem(Trans::N, tb, s.M, s.N, s.K, pad, 1.0f, beta, rng);
          PackedMatrix P = pack_b(p.B.data(), p.K, p.N, tb, p.ldb);
          ASSERT_EQ(P.K(), p.K);
          ASSERT_EQ(P.N(), p.N);
          std::vector<float> C = p.C0;
          gemm_packed(p.M, p.A.data(), p.lda, P, beta, C.data(), p.ldc);
          expect_close(p, C, reference(p), "gemm_packed");
          // The same packing serves other batch sizes (first rows of A and C).
          const int64_t m2 = std::max<int64_t>(1, s.M / 2);
          Problem q = p;
          q.M = m2;
          std::vector<float> C2 = q.C0;
          gemm_packed(m2, q.A.data(), q.lda, P, beta, C2.data(), q.ldc);
          C2.resize(static_cast<size_t>(m2 * q.ldc));
          expect_close(q, C2, reference(q), "gemm_packed (other M)");
        }
}

TEST(GemmPacked, CopiesBAndRejectsBadArguments) {
  Rng rng(5);
  Problem p = make_problem(Trans::N, Trans::T, 8, 16, 12, 0, 1.0f, 0.0f, rng);
  PackedMatrix P = pack_b(p.B.data(), p.K, p.N, Trans::T);
  const Problem original = p;
  std::fill(p.B.begin(), p.B.end(), kNaN);  // the packed copy must not depend on B any more
  std::vector<float> C = p.C0;
  gemm_packed(p.M, p.A.data(), p.lda, P, 0.0f, C.data(), p.ldc);
  expect_close(original, C, reference(original), "gemm_packed after B changed");
  EXPECT_THROW(gemm_packed(8, p.A.data(), 11, P, 0.0f, C.data(), 16), Error);  // lda < K
  EXPECT_THROW(gemm_packed(8, p.A.data(), 12, PackedMatrix{}, 0.0f, C.data(), 16), Error);
  EXPECT_THROW(pack_b(p.B.data(), 12, 16, Trans::N, 15), Error);  // ldb < N
}

}  // namespace
}  // namespace recurrent
