// Vector exp, sigmoid and tanh for every SIMD target (Highway): the same algorithm and constants as
// the scalar forms in include/recurrent/kernels/activations.h (error bounds stated there, asserted
// on every target by tests/kernels/test_activations.cpp). NaN lanes return NaN; nothing overflows.
// Per-target header (Highway's -inl.h pattern): included once per target by a file that includes
// hwy/foreach_target.h, inside that target's namespace.
#if defined(RECURRENT_KERNELS_SIMD_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_MATH_INL_H_
#undef RECURRENT_KERNELS_SIMD_MATH_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_MATH_INL_H_
#endif

#include <hwy/highway.h>

#include "recurrent/kernels/activations.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 2^n for integral n ∈ [-126, 127] held in float lanes: the exponent field written directly.
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V Pow2(D d, V n) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127))));
}

// x · 2^n for integral n as above: AVX-512 has it in one instruction (vscalefps), elsewhere x · Pow2(n)
// (the same value: scaling by a power of two is exact while the result stays normal).
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V MulPow2(D d, V x, V n) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)d;
  return V{_mm512_scalef_ps(x.raw, n.raw)};
#else
  return hn::Mul(x, Pow2(d, n));
#endif
}

// e^r - 1 = r + r²·P(r) (Cephes expf polynomial) for |r| ≤ ln2/2.
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V Expm1Reduced(D d, V r) {
  V p = hn::Set(d, act::kExpP[0]);
  for (int i = 1; i < 6; ++i) p = hn::MulAdd(p, r, hn::Set(d, act::kExpP[i]));
  return hn::MulAdd(p, hn::Mul(r, r), r);
}

// e^x lane-wise, x clamped to [-87, 88]. Min/Max take x second: a NaN lane stays NaN (x86 min/max
// return the second operand when one is NaN; NEON and the emulated targets propagate NaN).
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V Exp(D d, V x) {
  x = hn::Min(hn::Set(d, act::kExpMax), hn::Max(hn::Set(d, act::kExpMin), x));
  const V n = hn::Round(hn::Mul(x, hn::Set(d, act::kLog2e)));
  V r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Hi), x);
  r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Lo), r);
  const V e = hn::Add(Expm1Reduced(d, r), hn::Set(d, 1.0f));
  return MulPow2(d, e, n);  // exact: e · 2^n stays normal on [-87, 88]
}

// NaN in, NaN out where the target's Min/Max drop a NaN operand (aarch64: vminnm/vmaxnm return the
// number); on x86 the clamps keep it (x goes second) and this is nothing.
template <class V>
HWY_INLINE V KeepNaN(V x, V r) {
#if HWY_ARCH_X86
  (void)x;
  return r;
#else
  return hn::IfThenElse(hn::IsNaN(x), x, r);
#endif
}

template <class D, class V = hn::VFromD<D>>
HWY_INLINE V Sigmoid(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  return KeepNaN(x, hn::Div(one, hn::Add(one, Exp(d, hn::Neg(x)))));  // x86: e is NaN, so is the result
}

// tanh|x| = -expm1(u) / (e^u + 1), u = -2·min(|x|, 10): see tanh_scalar for the steps; sign of x copied.
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V Tanh(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V c = hn::Min(hn::Set(d, act::kTanhClamp), hn::Abs(x));
  const V u = hn::Mul(c, hn::Set(d, -2.0f));                                   // [-20, 0]
  const V n = hn::Round(hn::Mul(c, hn::Set(d, -2.0f * act::kLog2e)));         // [-29, 0]
  V r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Hi), u);
  r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Lo), r);
  const V em = Expm1Reduced(d, r);
  const V s = Pow2(d, n);
  const V num = hn::NegMulAdd(em, s, hn::Sub(one, s));  // -expm1(u), one rounding
  const V den = hn::Add(hn::MulAdd(em, s, s), one);     // e^u + 1
  return KeepNaN(x, hn::CopySignToAbs(hn::Div(num, den), x));  // x86: NaN in makes every step NaN
}

// σ(x) and σ'(x) = e^{-x} σ(x)² together: the derivative without the cancellation of s·(1 − s) where σ(x) is
// near 1 (there 1 − s keeps only the absolute error of s: ~6e-6 relative at s = 0.99, ~6e-5 at 0.999).
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V SigmoidWithGrad(D d, V x, V* grad) {
  const V e = Exp(d, hn::Neg(x));
  const V s = KeepNaN(x, hn::Div(hn::Set(d, 1.0f), hn::Add(hn::Set(d, 1.0f), e)));
  *grad = hn::Mul(hn::Mul(e, s), s);
  return s;
}

// tanh(x) and 1 − tanh²(x) = 4E / (1 + E)², E = e^{−2|x|}, together (as Tanh; no cancellation near |t| = 1).
template <class D, class V = hn::VFromD<D>>
HWY_INLINE V TanhWithGrad(D d, V x, V* grad) {
  const V one = hn::Set(d, 1.0f);
  const V c = hn::Min(hn::Set(d, act::kTanhClamp), hn::Abs(x));
  const V u = hn::Mul(c, hn::Set(d, -2.0f));
  const V n = hn::Round(hn::Mul(c, hn::Set(d, -2.0f * act::kLog2e)));
  V r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Hi), u);
  r = hn::NegMulAdd(n, hn::Set(d, act::kLn2Lo), r);
  const V em = Expm1Reduced(d, r);
  const V s = Pow2(d, n);
  const V num = hn::NegMulAdd(em, s, hn::Sub(one, s));
  const V e = hn::MulAdd(em, s, s);  // E = e^u
  const V den = hn::Add(e, one);
  *grad = KeepNaN(x, hn::Div(hn::Mul(hn::Set(d, 4.0f), e), hn::Mul(den, den)));
  return KeepNaN(x, hn::CopySignToAbs(hn::Div(num, den), x));  // the same value as Tanh
}

// s(1-s): σ' from the activation (also 1 - t² is written OneMinusSq).
template <class V>
HWY_INLINE V SigGrad(V s) {
  return hn::Mul(s, hn::Sub(hn::Set(hn::DFromV<V>(), 1.0f), s));
}
template <class V>
HWY_INLINE V OneMinusSq(V t) {
  return hn::NegMulAdd(t, t, hn::Set(hn::DFromV<V>(), 1.0f));
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
