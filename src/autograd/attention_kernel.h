// src/autograd/attention_kernel.h — the per-(batch, head) forward and backward of scaled
// dot-product attention, on strided operands. Math, masks and memory: include/recurrent/autograd/
// attention.h. The tape ops (ops_attention.cpp) and attention_inference() call run_forward /
// run_backward, which parallelise over (b, h) pairs.
#pragma once

#include <cstdint>

#include "recurrent/core/tensor.h"

namespace recurrent::attn {

// Element (b, t, c) of a sequence operand lives at p[b·bs + t·rs + c]; head h starts at column
// h·dh (q, k) or h·dv (v, out). bs/rs cover both [B, T, C] and [T, B, C] layouts and KV-cache views.
struct Operand {
  float* p = nullptr;
  int64_t bs = 0, rs = 0;
  float* at(int64_t b, int64_t t, int64_t col) const { return p + b * bs + t * rs + col; }
};

struct Dims {
  int64_t B = 0, Tq = 0, Tk = 0, H = 1, dh = 0, dv = 0;
  float scale = 1.0f;
  bool causal = false;
  float dropout = 0.0f;
  uint64_t seed = 0;
  const float* key_padding = nullptr;  // [B, Tk] or null
  const float* attn_mask = nullptr;    // [Tq, Tk] or null
  float* weights = nullptr;            // forward: receives P [B, H, Tq, Tk] (zero-initialised by the caller) or null
  // Keys row i may see: [0, visible(i)), the causal limit (Tk without a causal mask).
  int64_t visible(int64_t i) const {
    if (!causal) return Tk;
    const int64_t lim = i + (Tk - Tq) + 1;
    return lim < 0 ? 0 : (lim > Tk ? Tk : lim);
  }
};

// out [B, Tq, H·dv] (per layout) = attention; lse [B·H·Tq] receives each row's log-Σ-exp (−inf for
// a row with every key masked) when non-null.
void run_forward(const Dims& d, Operand q, Operand k, Operand v, Operand out, float* lse);

// Adds ∂q, ∂k, ∂v (each may be null: not needed) given ∂out (gout), the saved out and lse.
void run_backward(const Dims& d, Operand q, Operand k, Operand v, Operand out, const float* lse, Operand gout,
                  Operand gq, Operand gk, Operand gv);

}  // namespace recurrent::attn
