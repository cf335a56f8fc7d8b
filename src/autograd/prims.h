// src/autograd/prims.h — the few hot loops every op is built from (design.md example 4).
//
// Ops in ops_*.cpp state the math; the loops live here:
//   map_n         y_i = f(i)                         elementwise over a contiguous range (OpenMP)
//   for_rows      f(r) for r in [0, rows)            row-parallel kernels (softmax, layer norm, CE)
//   Broadcast     numpy broadcasting plan: out shape + per-input strides (0 on broadcast dims)
//   broadcast_map out_i = f(a[ia], b[ib])            walks the plan, inner dim as a flat loop
//   reduce_to     sum a gradient over broadcast dims back to an input's shape (double accumulation)
// Parallel loops split work by index only: results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent::prims {

// Below this many elements, threading costs more than it saves.
inline constexpr int64_t kParallelGrain = 1 << 15;

template <typename F>
void map_n(int64_t n, F&& f) {
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// rows × cols work; parallel over rows when the total is large.
template <typename F>
void for_rows(int64_t rows, int64_t cols, F&& f) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) f(r);
}

// The contiguous value of x (x itself when already contiguous).
inline Tensor contig(const Tensor& x) { return x.contiguous(); }

struct Broadcast {
  Shape out;                         // broadcast shape
  std::vector<int64_t> sa, sb;       // element strides of a and b over `out` (0 where broadcast)
  bool same = false;                 // a, b and out all have one shape: flat loop
};

// Throws Error(where, ...) when the shapes are not broadcast-compatible.
Broadcast broadcast_plan(const Shape& a, const Shape& b, const char* where);
// Element strides of a contiguous tensor of `shape` viewed as `out` (right-aligned, 0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out);

// Visit every element of `out` in row-major order: f(k, ia, ib), k the flat output index.
template <typename F>
void broadcast_visit(const Broadcast& p, F&& f) {
  const int64_t n = shape_numel(p.out);
  if (n == 0) return;
  if (p.same) {
    for (int64_t k = 0; k < n; ++k) f(k, k, k);
    return;
  }
  const size_t nd = p.out.size();
  const int64_t inner = nd ? p.out[nd - 1] : 1;
  const int64_t ia_in = nd ? p.sa[nd - 1] : 0, ib_in = nd ? p.sb[nd - 1] : 0;
  std::vector<int64_t> idx(nd, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t k = 0; k < n; k += inner) {
    for (int64_t j = 0; j < inner; ++j) f(k + j, ia + j * ia_in, ib + j * ib_in);
    for (size_t d = nd - 1; d-- > 0;) {  // odometer over the outer dims
      if (++idx[d] < p.out[d]) {
        ia += p.sa[d];
        ib += p.sb[d];
        break;
      }
      ia -= (p.out[d] - 1) * p.sa[d];
      ib -= (p.out[d] - 1) * p.sb[d];
      idx[d] = 0;
    }
  }
}

// out[k] = f(a[ia], b[ib]) over the plan; a, b contiguous.
template <typename F>
Tensor broadcast_map(const Broadcast& p, const float* a, const float* b, F&& f) {
  Tensor out(p.out);
  float* o = out.data();
  if (p.same) {
    map_n(out.numel(), [&](int64_t i) { o[i] = f(a[i], b[i]); });
  } else {
    broadcast_visit(p, [&](int64_t k, int64_t ia, int64_t ib) { o[k] = f(a[ia], b[ib]); });
  }
  return out;
}

// g has shape `from` (a broadcast of `to`); returns Σ of g over the broadcast dims, shape `to`.
Tensor reduce_to(const Tensor& g, const Shape& to);

}  // namespace recurrent::prims
