// Matrix products on the tape, all through recurrent::gemm (include/recurrent/kernels/gemm.h).
//
//   matmul: out[b] = op(A[b]) · op(B[b]),  A [Ba?, M, K] (or [.., K, M] transposed), B [Bb?, K, N]
//           (or [.., N, K]); a 2-D operand is shared by every batch entry (batch stride 0).
//   linear: out = x · Wᵀ + bias,  x [..., I] viewed as [R, I], W [O, I], bias [O] -> [..., O].
// Backward, with G = ∂L/∂out and A' = op(A), B' = op(B):
//   ∂A' = G·B'ᵀ  → A not transposed: ∂A += G·op(B)ᵀ;   transposed: ∂A += op(B)·Gᵀ
//   ∂B' = A'ᵀ·G  → B not transposed: ∂B += op(A)ᵀ·G;   transposed: ∂B += Gᵀ·op(A)
// Gradients are added with beta = 1 straight into the gradient buffers (no temporaries).
#include <algorithm>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent {

namespace {

struct MatmulDims {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  int64_t stride_a = 0, stride_b = 0;  // elements between batch entries (0: shared 2-D operand)
  int64_t lda = 0, ldb = 0;
  Trans ta = Trans::N, tb = Trans::N;
};

MatmulDims matmul_dims(const Shape& a, const Shape& b, bool trans_a, bool trans_b) {
  RC_CHECK((a.size() == 2 || a.size() == 3) && (b.size() == 2 || b.size() == 3), "matmul",
           "operands must be 2-D or 3-D, got a ", shape_str(a), " and b ", shape_str(b));
  MatmulDims d;
  const size_t ra = a.size(), rb = b.size();
  const int64_t ba = ra == 3 ? a[0] : 1, bb = rb == 3 ? b[0] : 1;
  RC_CHECK(ra == 2 || rb == 2 || ba == bb, "matmul", "batch sizes differ: a ", shape_str(a), ", b ", shape_str(b));
  d.batch = ra == 3 ? ba : bb;
  d.ta = trans_a ? Trans::T : Trans::N;
  d.tb = trans_b ? Trans::T : Trans::N;
  d.M = trans_a ? a[ra - 1] : a[ra - 2];
  d.K = trans_a ? a[ra - 2] : a[ra - 1];
  const int64_t kb = trans_b ? b[rb - 1] : b[rb - 2];
  d.N = trans_b ? b[rb - 2] : b[rb - 1];
  RC_CHECK(kb == d.K, "matmul", "inner dims differ: op(a) is [", d.M, ", ", d.K, "], op(b) is [", kb, ", ", d.N,
           "] (a ", shape_str(a), trans_a ? "ᵀ" : "", ", b ", shape_str(b), trans_b ? "ᵀ" : "", ")");
  d.lda = a[ra - 1];
  d.ldb = b[rb - 1];
  d.stride_a = ra == 3 ? d.M * d.K : 0;
  d.stride_b = rb == 3 ? d.K * d.N : 0;
  return d;
}

// A 3-D, untransposed A times a shared 2-D B is one GEMM with M·batch rows.
bool foldable(const MatmulDims& d) { return d.batch > 1 && d.stride_a != 0 && d.stride_b == 0 && d.ta == Trans::N; }

void matmul_forward(const MatmulDims& d, const float* A, const float* B, float* C) {
  if (foldable(d)) {
    gemm(d.ta, d.tb, d.batch * d.M, d.N, d.K, 1.0f, A, d.lda, B, d.ldb, 0.0f, C, d.N);
    return;
  }
  for (int64_t i = 0; i < d.batch; ++i)
    gemm(d.ta, d.tb, d.M, d.N, d.K, 1.0f, A + i * d.stride_a, d.lda, B + i * d.stride_b, d.ldb, 0.0f,
         C + i * d.M * d.N, d.N);
}

// ∂A += G·op(B)ᵀ  (A plain)  or  op(B)·Gᵀ  (A transposed);   G [M, N] per batch entry.
void matmul_backward_a(const MatmulDims& d, const float* G, const float* B, float* dA) {
  const Trans flip_b = d.tb == Trans::N ? Trans::T : Trans::N;
  if (foldable(d)) {
    gemm(Trans::N, flip_b, d.batch * d.M, d.K, d.N, 1.0f, G, d.N, B, d.ldb, 1.0f, dA, d.lda);
    return;
  }
  for (int64_t i = 0; i < d.batch; ++i) {
    const float* g = G + i * d.M * d.N;
    const float* b = B + i * d.stride_b;
    float* da = dA + i * d.stride_a;
    if (d.ta == Trans::N)
      gemm(Trans::N, flip_b, d.M, d.K, d.N, 1.0f, g, d.N, b, d.ldb, 1.0f, da, d.lda);
    else
      gemm(d.tb, Trans::T, d.K, d.M, d.N, 1.0f, b, d.ldb, g, d.N, 1.0f, da, d.lda);
  }
}

// ∂B += op(A)ᵀ·G  (B plain)  or  Gᵀ·op(A)  (B transposed).
void matmul_backward_b(const MatmulDims& d, const float* G, const float* A, float* dB) {
  const Trans flip_a = d.ta == Trans::N ? Trans::T : Trans::N;
  if (foldable(d)) {  // the batch folds into the reduction dim: one GEMM sums over all B·M rows
    if (d.tb == Trans::N)
      gemm(Trans::T, Trans::N, d.K, d.N, d.batch * d.M, 1.0f, A, d.lda, G, d.N, 1.0f, dB, d.ldb);
    else
      gemm(Trans::T, Trans::N, d.N, d.K, d.batch * d.M, 1.0f, G, d.N, A, d.lda, 1.0f, dB, d.ldb);
    return;
  }
  for (int64_t i = 0; i < d.batch; ++i) {
    const float* g = G + i * d.M * d.N;
    const float* a = A + i * d.stride_a;
    float* db = dB + i * d.stride_b;
    if (d.tb == Trans::N)
      gemm(flip_a, Trans::N, d.K, d.N, d.M, 1.0f, a, d.lda, g, d.N, 1.0f, db, d.ldb);
    else
      gemm(Trans::T, d.ta, d.N, d.K, d.M, 1.0f, g, d.N, a, d.lda, 1.0f, db, d.ldb);
  }
}

// Σ_r G[r, :] for G [R, O] → [O], double accumulation in row order (the same sum for any thread
// count: threads split the columns). A straight row-major pass, not the generic broadcast reduction
// (which visits element by element: ~10× slower on the [400, 10000] output layer of a word LM).
Tensor column_sums(const float* G, int64_t R, int64_t O) {
  Tensor out({O});
  float* y = out.data();
  constexpr int64_t kCols = 512;
  prims::for_rows((O + kCols - 1) / kCols, R * kCols, [&](int64_t blk) {
    const int64_t c0 = blk * kCols, n = std::min(kCols, O - c0);
    double acc[kCols] = {};
    for (int64_t r = 0; r < R; ++r) {
      const float* g = G + r * O + c0;
      for (int64_t j = 0; j < n; ++j) acc[j] += g[j];
    }
    for (int64_t j = 0; j < n; ++j) y[c0 + j] = static_cast<float>(acc[j]);
  });
  return out;
}

}  // namespace

// out = op(a) · op(b)
Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b) {
  Tensor av = prims::contig(a.value()), bv = prims::contig(b.value());
  const MatmulDims d = matmul_dims(av.shape(), bv.shape(), trans_a, trans_b);
  Shape out_shape = (av.dim() == 3 || bv.dim() == 3) ? Shape{d.batch, d.M, d.N} : Shape{d.M, d.N};
  Tensor out(out_shape);
  matmul_forward(d, av.data(), bv.data(), out.data());
  // Saves both operands: ∂A needs B and ∂B needs A.
  return make_op("matmul", out, {a, b}, [d, av, bv](Node& o) {
    if (needs_grad(o, 0)) matmul_backward_a(d, o.grad.data(), bv.data(), grad_buffer(*o.inputs[0]).data());
    if (needs_grad(o, 1)) matmul_backward_b(d, o.grad.data(), av.data(), grad_buffer(*o.inputs[1]).data());
  });
}

// out = x · Wᵀ + bias;   ∂x += G·W,  ∂W += Gᵀ·x,  ∂bias += Σ_rows G
Var linear(const Var& x, const Var& weight, const Var& bias) {
  Tensor xv = prims::contig(x.value()), wv = prims::contig(weight.value());
  RC_CHECK(wv.dim() == 2, "linear", "weight must be [out, in], got ", shape_str(wv.shape()));
  const int64_t O = wv.size(0), I = wv.size(1);
  RC_CHECK(xv.dim() >= 1 && xv.size(-1) == I, "linear", "input ", shape_str(xv.shape()), " does not end in in_features ", I);
  const int64_t R = xv.numel() / I;
  Shape out_shape = xv.shape();
  out_shape.back() = O;
  Tensor out = Tensor::uninitialized(out_shape);  // every element written: bias rows, or the GEMM (beta 0)
  float* y = out.data();
  Tensor bv;
  if (bias.defined()) {
    bv = prims::contig(bias.value());
    RC_CHECK(bv.dim() == 1 && bv.size(0) == O, "linear", "bias must be [", O, "], got ", shape_str(bv.shape()));
    const float* bp = bv.data();
    prims::for_rows(R, O, [&](int64_t r) {
      for (int64_t j = 0; j < O; ++j) y[r * O + j] = bp[j];
    });
  }
  gemm(Trans::N, Trans::T, R, O, I, 1.0f, xv.data(), I, wv.data(), I, bias.defined() ? 1.0f : 0.0f, y, O);
  std::vector<Var> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return make_op("linear", out, inputs, [xv, wv, R, O, I](Node& o) {
    const float* G = o.grad.data();
    if (needs_grad(o, 0)) gemm(Trans::N, Trans::N, R, I, O, 1.0f, G, O, wv.data(), I, 1.0f, grad_buffer(*o.inputs[0]).data(), I);
    if (needs_grad(o, 1)) gemm(Trans::T, Trans::N, O, I, R, 1.0f, G, O, xv.data(), I, 1.0f, grad_buffer(*o.inputs[1]).data(), I);
    if (o.inputs.size() > 2 && needs_grad(o, 2)) accumulate_grad(*o.inputs[2], column_sums(G, R, O));
  });
}

}  // namespace recurrent
