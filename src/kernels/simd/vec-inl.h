// What every per-target kernel shares: the float vector type of the target, its register budget, and
// a loop over n floats in whole vectors with one masked tail (loads of the masked-off lanes read
// nothing, stores leave them untouched).
#if defined(RECURRENT_KERNELS_SIMD_VEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_VEC_INL_H_
#undef RECURRENT_KERNELS_SIMD_VEC_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_VEC_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;
using M = hn::Mask<D>;
// Lanes per vector (fixed-width targets only; the SVE targets are not compiled, see CMakeLists).
inline constexpr int64_t kLanes = static_cast<int64_t>(hn::MaxLanes(D()));

// Architectural vector registers: 32 on AVX-512 and on Arm, 16 on AVX2 and SSE4 (x86-64).
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_ARCH_ARM
inline constexpr int kVectorRegisters = 32;
#else
inline constexpr int kVectorRegisters = 16;
#endif

struct Full {};                // a whole vector
struct Tail { int64_t n; };    // its first n lanes (0 ≤ n < kLanes)

// Tails must neither read past the data (the next page may not exist) nor write the lanes past n
// (they are the next gate's or another thread's columns). AVX2 and AVX-512 have masked loads and
// stores that guarantee both (vmaskmovps, mask registers). On the other targets Highway 1.0's
// MaskedLoad reads the whole vector and BlendedStore writes it back, so the tail goes through a
// small buffer there.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
inline constexpr bool kNativeMasks = true;
#else
inline constexpr bool kNativeMasks = false;
#endif

HWY_INLINE V Ld(Full, const float* p) { return hn::LoadU(D(), p); }
HWY_INLINE void St(Full, float* p, V v) { hn::StoreU(v, D(), p); }
HWY_INLINE V Ld(Tail t, const float* p) {
  const D d;
  if constexpr (kNativeMasks) {
    return hn::MaskedLoad(hn::FirstN(d, static_cast<size_t>(t.n)), d, p);
  } else {
    HWY_ALIGN float buf[kLanes] = {};
    for (int64_t i = 0; i < t.n; ++i) buf[i] = p[i];
    return hn::Load(d, buf);
  }
}
HWY_INLINE void St(Tail t, float* p, V v) {
  const D d;
  if constexpr (kNativeMasks) {
    hn::BlendedStore(v, hn::FirstN(d, static_cast<size_t>(t.n)), d, p);
  } else {
    HWY_ALIGN float buf[kLanes];
    hn::Store(v, d, buf);
    for (int64_t i = 0; i < t.n; ++i) p[i] = buf[i];
  }
}

// body(j, Full{}) for each whole vector of [0, n), then body(j, Tail{n - j}) once if n is not a
// multiple of the vector width.
template <class Body>
HWY_INLINE void ForVectors(int64_t n, const Body& body) {
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) body(j, Full{});
  if (j < n) body(j, Tail{n - j});
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
