// recurrent/autograd/ops.h — the differentiable op library: free functions taking and returning Var.
//
// One source file per family under src/autograd/ops_*.cpp, forward and backward side by side under
// a one-line equation. All ops:
//  * accept inputs of any strides (they read a contiguous copy when needed) and return contiguous values;
//  * record a tape node only when grad mode is on and an input requires grad (make_op);
//  * ADD into input gradients in backward (never overwrite);
//  * throw recurrent::Error naming the op and the offending argument on bad shapes / indices.
//
// Dimension legend used below: B batch, T time, M/N/K matrix dims, C classes, H hidden / feature,
// V vocabulary, D embedding dim, "..." any leading dims.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"

namespace recurrent {

// ---- linear algebra (ops_matmul.cpp) ----------------------------------------------------------
// out = op(a) · op(b), op(X) = X or Xᵀ of the last two dims.
//   2-D:  a [M, K] (or [K, M] with trans_a), b [K, N] (or [N, K] with trans_b)      -> [M, N]
//   3-D × 2-D: a [B, M, K], b [K, N] (b shared across the batch; its gradient sums over B) -> [B, M, N]
//   2-D × 3-D and 3-D × 3-D (batched, same B) likewise.
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);
// out = x · weightᵀ + bias (PyTorch's F.linear). x [..., I], weight [O, I], bias [O] or undefined -> [..., O].
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

// ---- elementwise binary with numpy broadcasting (ops_elementwise.cpp) -------------------------
// Shapes are aligned from the right; a dim of size 1 (or a missing leading dim) broadcasts.
// The gradient of a broadcast input is summed over the broadcast dims.
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var scale(const Var& x, float c);       // c · x
Var add_scalar(const Var& x, float c);  // x + c
Var neg(const Var& x);                  // −x

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator*(const Var& a, float c) { return scale(a, c); }
inline Var operator*(float c, const Var& a) { return scale(a, c); }
inline Var operator+(const Var& a, float c) { return add_scalar(a, c); }
inline Var operator-(const Var& a) { return neg(a); }

// ---- elementwise unary activations (ops_activation.cpp) ---------------------------------------
Var tanh(const Var& x);
Var sigmoid(const Var& x);  // 1/(1+e^{−x}) for x ≥ 0, e^{x}/(1+e^{x}) for x < 0: never overflows
Var relu(const Var& x);     // gradient 0 at x == 0 (PyTorch's choice)
Var exp(const Var& x);
Var log(const Var& x);      // x must be > 0 where it matters; log(0) = −inf as in PyTorch

// ---- softmax over the last dim (ops_softmax.cpp) ----------------------------------------------
Var softmax(const Var& x);      // x [..., C] -> [..., C], max-subtracted
Var log_softmax(const Var& x);  // x [..., C] -> [..., C], x − max − log Σ e^{x−max}

// ---- shape ops (ops_shape.cpp) ------------------------------------------------------------------
Var reshape(const Var& x, Shape shape);                  // one dim may be −1
Var transpose(const Var& x, int64_t d0, int64_t d1);     // materialised (contiguous) result
Var concat(const std::vector<Var>& xs, int64_t dim);     // all shapes equal except along dim
Var slice(const Var& x, int64_t dim, int64_t start, int64_t end);  // [start, end) along dim

// ---- reductions (ops_reduce.cpp); accumulated in double ------------------------------------------
Var sum(const Var& x);                                   // -> shape [] (one element)
Var sum(const Var& x, int64_t dim, bool keepdim = false);
Var mean(const Var& x);
Var mean(const Var& x, int64_t dim, bool keepdim = false);

// ---- embedding lookup (ops_embedding.cpp) ---------------------------------------------------------
// weight [V, D]; indices of shape idx_shape (numel == indices.size()) -> [idx_shape..., D].
// Backward scatter-adds rows into weight's gradient (repeated indices add up).
Var embedding(const Var& weight, const std::vector<int64_t>& indices, const Shape& idx_shape);
// Indices as a float tensor holding integral values (Tensor is float32 only).
Var embedding(const Var& weight, const Tensor& indices);

// ---- dropout (ops_dropout.cpp) ----------------------------------------------------------------
// Inverted dropout: out = x ⊙ m / (1 − p), m_i ~ Bernoulli(1 − p) drawn from rng in element order.
// Identity (returns x itself, no rng draws) when !training or p == 0; all zeros when p == 1.
Var dropout(const Var& x, float p, bool training, Rng& rng);
// out = x ⊙ mask with a given mask of x's shape (already scaled): the deterministic core of dropout.
Var dropout_with_mask(const Var& x, const Tensor& mask);

// ---- layer norm over the last dim (ops_layer_norm.cpp) ----------------------------------------------
// x [..., H], weight [H], bias [H] (either may be undefined: no affine part) -> [..., H].
// y = (x − mean) / sqrt(var + eps) · weight + bias, biased variance as in PyTorch.
Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps = 1e-5f);

// ---- losses (ops_loss.cpp) ---------------------------------------------------------------------
enum class Reduction { mean, sum, none };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;          // targets equal to this contribute nothing (PyTorch default)
  std::vector<float> weights;           // optional per-token weights (size N); empty = all 1. A 0/1 mask works.
  Reduction reduction = Reduction::mean;
};
// logits [..., C] (classes on the LAST dim; N = numel / C rows), targets: N class indices.
// nll_i = −log_softmax(logits_i)[t_i]; w_i = weights_i (or 1), 0 for ignored targets.
//   mean: Σ w_i·nll_i / Σ w_i  (PyTorch's weighted mean; when Σ w_i == 0 we return 0 with zero
//         gradient where PyTorch returns NaN, so an all-padding batch cannot poison training)
//   sum:  Σ w_i·nll_i         none: [N] vector of w_i·nll_i
Var cross_entropy(const Var& logits, const std::vector<int64_t>& targets, const CrossEntropyOptions& opt = {});

// mean / sum / none of (pred − target)²; target has pred's shape.
Var mse_loss(const Var& pred, const Tensor& target, Reduction reduction = Reduction::mean);
// Binary cross-entropy on logits, stable form: max(x, 0) − x·y + log(1 + e^{−|x|}). target: pred's shape.
Var bce_with_logits(const Var& logits, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace recurrent
