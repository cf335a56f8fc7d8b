// Vanilla (Elman) RNN, tanh or ReLU, forward and backward, for every SIMD target; one batch row,
// n hidden units (pointers offset by j0).
//   h = f(a),  a = W_ih x + b_ih + W_hh h_prev + b_hh,  f = tanh | relu;  da = dh ⊙ f'(a) from h.
// Scalar twin and the double reference equations: src/nn/cell_rnn.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_RNN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_RNN_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_RNN_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_RNN_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// a [H] pre-activation in (bias [H] added first, or null), f(a) out; h [H] = f(a).
inline void RnnForwardRow(int64_t n, bool relu, float* a, const float* bias, float* h) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V p = Ld(k, a + j);
    if (bias) p = hn::Add(p, Ld(k, bias + j));
    const V v = relu ? hn::Max(p, hn::Zero(d)) : Tanh(d, p);
    St(k, a + j, v);
    St(k, h + j, v);
  });
}

// da = dh ⊙ f'(a): 1 - h² (tanh) or [h > 0] (relu); a holds the activations.
inline void RnnBackwardRow(int64_t n, bool relu, const float* a, const float* dh, float* da) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    const V v = Ld(k, a + j), g = Ld(k, dh + j);
    St(k, da + j, relu ? hn::IfThenElseZero(hn::Gt(v, hn::Zero(d)), g) : hn::Mul(g, OneMinusSq(v)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
