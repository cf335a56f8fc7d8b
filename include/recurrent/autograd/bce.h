// recurrent/autograd/bce.h — fused sigmoid + binary cross-entropy for multi-label outputs
// (src/autograd/ops_bce.cpp): K independent Bernoulli outputs per row, e.g. the 88 piano keys of a
// time step in `train music`.
//
//   logits x [..., K] (labels on the LAST dim; R = numel / K rows), targets y of x's shape (0/1, or
//   soft labels in [0, 1]), row weights w [R] (empty: all 1; a 0/1 mask drops padded time steps).
//   ℓ_rk = −[y log σ(x) + (1 − y) log(1 − σ(x))]
//        = log(e⁰ + e^x) − x·y                       (the log-sum-exp form: never overflows)
//        = max(x, 0) − x·y + log(1 + e^{−|x|})       (as computed; exp of a non-positive number only)
//   ∂ℓ_rk/∂x_rk = σ(x_rk) − y_rk                     (σ in the safe form of sigmoid(), ops.h)
// Reductions (PyTorch's BCEWithLogitsLoss with weight = w[:, None] for the first three):
//   none       [..., K]   w_r ℓ_rk
//   sum        []         Σ_r w_r Σ_k ℓ_rk
//   mean       []         Σ_r w_r Σ_k ℓ_rk / (R·K)     (PyTorch's mean: over all elements)
//   mean_rows  []         Σ_r w_r Σ_k ℓ_rk / Σ_r w_r   (the mean over rows of the summed BCE: the
//                         music papers' NLL per time step; 0 with zero gradient when Σ w = 0)
// Sums are accumulated in double. The op is declared here rather than in ops.h (a header of its own
// for a loss family of its own); recurrent::bce_with_logits (ops.h) is the plain element-wise loss.
#pragma once

#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/tensor.h"

namespace recurrent {

enum class BceReduction { none, sum, mean, mean_rows };

struct SigmoidBceOptions {
  std::vector<float> row_weights;  // [R] (finite, ≥ 0) or empty: all 1
  BceReduction reduction = BceReduction::mean_rows;
};

Var sigmoid_bce(const Var& logits, const Tensor& targets, const SigmoidBceOptions& opt = {});

}  // namespace recurrent
