// Weight packing for the panel GEMM (AVX-512 CPUs only; src/kernels/avx512/pack512.cpp).
#pragma once

#include <cstdint>

namespace recurrent::avx512 {

// One 32-column panel from up to 32 rows of a row-major matrix, transposed:
//   src: [nrows, K] with leading dimension ld (nrows ≤ 32)
//   dst: [K, 32], 64-byte aligned; dst[k·32 + c] = src[c·ld + k] for c < nrows, 0 for c ≥ nrows.
// (The forward panels of W_hh: rows = 32 hidden units of one gate, K = R.)
void pack_rows_transposed(const float* src, int64_t ld, int64_t nrows, int64_t K, float* dst);

}  // namespace recurrent::avx512
