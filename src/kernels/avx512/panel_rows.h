// What the fp32 and bf16 panel GEMMs (panel_gemm512.cpp, panel_gemm_bf16.cpp) share: storing one
// row of a 32-column panel result, and cutting M rows into register blocks.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/avx512/activations512.h"

namespace recurrent::avx512 {

// C row [0, ncols) (ncols ≤ 32) = (accumulate ? C : 0) + (v0 | v1); columns past ncols untouched.
inline void store_panel_row(float* c, __m512 v0, __m512 v1, int64_t ncols, bool accumulate) {
  const __mmask16 m0 = tail_mask(ncols), m1 = tail_mask(ncols - 16);
  if (accumulate) {
    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c + 16));
  }
  _mm512_mask_storeu_ps(c, m0, v0);
  _mm512_mask_storeu_ps(c + 16, m1, v1);
}

// Rows [0, M) in blocks of 8, then one block of the remaining 2..7 rows: block(std::integral_constant<int,
// MR>, m) runs rows [m, m + MR); a single row (M = 1, or one left over) goes to row1(m), the
// latency-hiding matrix-vector form.
template <class Block, class Row1>
void for_row_blocks(int64_t M, const Block& block, const Row1& row1) {
  if (M == 1) return row1(int64_t{0});
  int64_t m = 0;
  for (; m + 8 <= M; m += 8) block(std::integral_constant<int, 8>{}, m);
  switch (M - m) {
    case 7: return block(std::integral_constant<int, 7>{}, m);
    case 6: return block(std::integral_constant<int, 6>{}, m);
    case 5: return block(std::integral_constant<int, 5>{}, m);
    case 4: return block(std::integral_constant<int, 4>{}, m);
    case 3: return block(std::integral_constant<int, 3>{}, m);
    case 2: return block(std::integral_constant<int, 2>{}, m);
    case 1: return row1(m);
    default: return;
  }
}

}  // namespace recurrent::avx512
