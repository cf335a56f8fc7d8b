// AMX bf16 panel GEMM. Contract, tile layouts and tails: panel_amx.h.
// Accumulation order per element: TDPBF16PS over k chunks of 32 ascending (C loaded first when
// accumulating and ncols = 32, else added last), then the k tail (AVX512_BF16) added to C.
#include <immintrin.h>

#include <cstring>

#include "kernels/amx/panel_amx.h"
#include "kernels/avx512/panel_bf16.h"
#include "kernels/avx512/panel_rows.h"

namespace recurrent::amx {

namespace {
// LDTILECFG's 64-byte operand, palette 1.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// tmm0..3: C (16 × 16 fp32); tmm4, 5: A (16 rows × 32 bf16); tmm6, 7: B (16 k pairs × 16 columns × 2).
// Every tile is 16 rows of 64 bytes.
TileConfig make_config() {
  TileConfig c;
  for (int t = 0; t < 8; ++t) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  return c;
}

thread_local bool t_configured = false;

void configure() {
  if (t_configured) return;
  static const TileConfig cfg = make_config();
  _tile_loadconfig(&cfg);
  t_configured = true;
}

constexpr int64_t kBStride = 128;  // bytes between k-pair rows of a 32-column panel

// C tiles of one row block pair (two = true: rows [0, 32); else rows [0, 16)) from C or zero, as the
// product needs them. direct: C itself (ncols = 32, accumulate); else zero.
template <bool Two>
void rows_block(int64_t nk, const uint16_t* A, int64_t lda, const uint16_t* P, float* C, int64_t ldc,
                int64_t ncols, bool accumulate) {
  const bool direct = ncols == 32;
  const int64_t cs = ldc * 4, as = lda * 2;
  if (direct && accumulate) {
    _tile_loadd(0, C, cs);
    _tile_loadd(1, C + 16, cs);
    if constexpr (Two) {
      _tile_loadd(2, C + 16 * ldc, cs);
      _tile_loadd(3, C + 16 * ldc + 16, cs);
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    if constexpr (Two) {
      _tile_zero(2);
      _tile_zero(3);
    }
  }
  for (int64_t kc = 0; kc < nk; ++kc) {
    const uint16_t* pb = P + kc * 16 * 64;
    _tile_loadd(6, pb, kBStride);
    _tile_loadd(7, pb + 32, kBStride);
    _tile_loadd(4, A + kc * 32, as);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if constexpr (Two) {
      _tile_loadd(5, A + 16 * lda + kc * 32, as);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  if (direct) {
    _tile_stored(0, C, cs);
    _tile_stored(1, C + 16, cs);
    if constexpr (Two) {
      _tile_stored(2, C + 16 * ldc, cs);
      _tile_stored(3, C + 16 * ldc + 16, cs);
    }
    return;
  }
  alignas(64) float s[32 * 32];  // [rows][32]
  _tile_stored(0, s, 128);
  _tile_stored(1, s + 16, 128);
  if constexpr (Two) {
    _tile_stored(2, s + 16 * 32, 128);
    _tile_stored(3, s + 16 * 32 + 16, 128);
  }
  for (int r = 0; r < (Two ? 32 : 16); ++r)
    avx512::store_panel_row(C + r * ldc, _mm512_load_ps(s + r * 32), _mm512_load_ps(s + r * 32 + 16), ncols,
                            accumulate);
}
}  // namespace

void panel_gemm_amx(int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P, int64_t ncols,
                    float* C, int64_t ldc, bool accumulate) {
  panel_gemm_amx_n(1, M, Kp, A, lda, P, 0, ncols, C, 0, ldc, accumulate);
}

// Row blocks outside, panels inside: a block's 32 rows of A (32 KiB at K = 512) stay in L1 while the
// panels stream from L2.
void panel_gemm_amx_n(int64_t n, int64_t M, int64_t Kp, const uint16_t* A, int64_t lda, const uint16_t* P,
                      int64_t pstride, int64_t ncols, float* C, int64_t cstride, int64_t ldc, bool accumulate) {
  const int64_t nk = Kp / 32;
  int64_t Mt = M / 16 * 16;  // rows in whole tiles
  if (nk > 0 && Mt > 0) {
    configure();
    int64_t m = 0;
    for (; m + 32 <= Mt; m += 32)
      for (int64_t p = 0; p < n; ++p)
        rows_block<true>(nk, A + m * lda, lda, P + p * pstride, C + p * cstride + m * ldc, ldc, ncols, accumulate);
    if (m < Mt)
      for (int64_t p = 0; p < n; ++p)
        rows_block<false>(nk, A + m * lda, lda, P + p * pstride, C + p * cstride + m * ldc, ldc, ncols, accumulate);
    if (Kp > nk * 32)  // the k tail, added
      for (int64_t p = 0; p < n; ++p)
        avx512::panel_gemm_bf16(Mt, Kp - nk * 32, A + nk * 32, lda, P + p * pstride + nk * 32 * 32, ncols,
                                C + p * cstride, ldc, true);
  } else {
    Mt = 0;
  }
  if (Mt < M)
    for (int64_t p = 0; p < n; ++p)
      avx512::panel_gemm_bf16(M - Mt, Kp, A + Mt * lda, lda, P + p * pstride, ncols, C + p * cstride + Mt * ldc, ldc,
                              accumulate);
}

void release_tiles() {
  if (!t_configured) return;
  _tile_release();
  t_configured = false;
}

}  // namespace recurrent::amx
