// Embedding lookup: out[i, :] = W[idx_i, :],  W [V, D], indices [...] -> [..., D].
// Backward scatter-adds: ∂W[idx_i, :] += g[i, :] (serial over i, so repeated indices add up
// in a fixed order — deterministic for any thread count), and records the rows it touched (the row
// support, var.h) so that zeroing, clipping and a plain SGD step can visit those rows only.
#include <cmath>
#include <cstring>

#include "autograd/prims.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

// out[i] = W[idx_i];   ∂W[idx_i] += g[i]
Var embedding(const Var& weight, const std::vector<int64_t>& indices, const Shape& idx_shape) {
  Tensor wv = prims::contig(weight.value());
  RC_CHECK(wv.dim() == 2, "embedding", "weight must be [num_embeddings, dim], got ", shape_str(wv.shape()));
  RC_CHECK(static_cast<int64_t>(indices.size()) == shape_numel(idx_shape), "embedding", "got ", indices.size(),
           " indices for index shape ", shape_str(idx_shape));
  const int64_t V = wv.size(0), D = wv.size(1), n = static_cast<int64_t>(indices.size());
  for (int64_t i = 0; i < n; ++i)
    RC_CHECK(indices[i] >= 0 && indices[i] < V, "embedding", "index ", indices[i], " at position ", i,
             " is out of range for ", V, " embeddings");
  Shape out_shape = idx_shape;
  out_shape.push_back(D);
  Tensor out(out_shape);
  const float* w = wv.data();
  float* y = out.data();
  prims::for_rows(n, D, [&](int64_t i) { std::memcpy(y + i * D, w + indices[i] * D, D * sizeof(float)); });
  return make_op("embedding", out, {weight}, [indices, D](Node& o) {
    float* gw = grad_buffer_rows(*o.inputs[0], indices);
    const float* g = o.grad.data();
    for (size_t i = 0; i < indices.size(); ++i) {
      float* row = gw + indices[i] * D;
      const float* gi = g + static_cast<int64_t>(i) * D;
      for (int64_t k = 0; k < D; ++k) row[k] += gi[k];
    }
  });
}

Var embedding(const Var& weight, const Tensor& indices) {
  std::vector<float> f = indices.to_vector();
  std::vector<int64_t> idx(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    RC_CHECK(std::isfinite(f[i]) && std::nearbyint(f[i]) == f[i], "embedding", "index tensor holds ", f[i],
             " at position ", i, "; expected an integer");
    idx[i] = static_cast<int64_t>(f[i]);
  }
  return embedding(weight, idx, indices.shape());
}

}  // namespace recurrent
