// Zoneout (Krueger et al. 2017) and recurrent dropout's dropped copy (Gal & Ghahramani 2016) on the rows of
// one step, for every SIMD target, after any cell's own rows (equations: docs/cells.md). The masks arrive as
// bytes (z ≠ 0: the unit keeps its previous state), read a vector's width at a time.
//   forward   h = z ? h_prev : h (c likewise), or without masks the expectation q·prev + (1 − q)·new;
//             then hd = h ⊙ rmask, the operand the next step's products read
//   backward  split dL/dh_t (dL/dc_t) into the part that reaches the previous state directly (z = 1) and the
//             cell's part (z = 0), then add the former to dL/dh_{t-1} (dL/dc_{t-1}) after the cell's backward
// Contract: RnnKernels::zoneout_rows / zoneout_split_row / zoneout_merge_row (rnn_kernels.h).
#if defined(RECURRENT_KERNELS_SIMD_CELLS_REGULARISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_REGULARISE_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_REGULARISE_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_REGULARISE_INL_H_
#endif

#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// The lanes of a vector whose mask byte is non-zero (a tail: its first t.n bytes only, the rest 0).
HWY_INLINE M ByteMask(const uint8_t* z, Full) {
  const hn::Rebind<uint8_t, D> du8;
  const hn::Rebind<int32_t, D> di;
  const auto v = hn::PromoteTo(di, hn::LoadU(du8, z));
  return hn::RebindMask(D(), hn::Ne(v, hn::Zero(di)));
}
HWY_INLINE M ByteMask(const uint8_t* z, Tail t) {
  uint8_t buf[kLanes] = {};
  std::memcpy(buf, z, static_cast<size_t>(t.n));
  return ByteMask(buf, Full{});
}

inline void ZoneoutRows(const RegRows& r) {
  const D d;
  const V q = hn::Set(d, r.q), q1 = hn::Set(d, 1.0f - r.q);
  for (int64_t b = 0; b < r.M; ++b) {
    const int64_t o = b * r.ld;
    const uint8_t* z = r.z ? r.z + b * r.ldz : nullptr;
    ForVectors(r.n, [&](int64_t j, auto k) {
      V h = Ld(k, r.h + o + j);
      if (r.zoneout) {
        if (z) {
          const M m = ByteMask(z + j, k);
          h = hn::IfThenElse(m, Ld(k, r.hp + o + j), h);
          if (r.c) St(k, r.c + o + j, hn::IfThenElse(m, Ld(k, r.cp + o + j), Ld(k, r.c + o + j)));
        } else {
          h = hn::MulAdd(q, Ld(k, r.hp + o + j), hn::Mul(q1, h));
          if (r.c) St(k, r.c + o + j, hn::MulAdd(q, Ld(k, r.cp + o + j), hn::Mul(q1, Ld(k, r.c + o + j))));
        }
        St(k, r.h + o + j, h);
      }
      if (r.hd) St(k, r.hd + o + j, hn::Mul(h, Ld(k, r.rm + o + j)));
    });
  }
}

inline void ZoneoutSplitRow(int64_t n, const uint8_t* z, float* dh, float* dc, float* zh, float* zc) {
  ForVectors(n, [&](int64_t j, auto k) {
    const M m = ByteMask(z + j, k);
    const V g = Ld(k, dh + j);
    St(k, zh + j, hn::IfThenElseZero(m, g));
    St(k, dh + j, hn::IfThenZeroElse(m, g));
    if (dc) {
      const V gc = Ld(k, dc + j);
      St(k, zc + j, hn::IfThenElseZero(m, gc));
      St(k, dc + j, hn::IfThenZeroElse(m, gc));
    }
  });
}

inline void ZoneoutMergeRow(int64_t n, const float* zh, float* dhp, const float* zc, float* dc) {
  ForVectors(n, [&](int64_t j, auto k) {
    St(k, dhp + j, hn::Add(Ld(k, dhp + j), Ld(k, zh + j)));
    if (dc) St(k, dc + j, hn::Add(Ld(k, dc + j), Ld(k, zc + j)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
