// The AVX-512 transposing weight packer of the fused RNN loops (src/kernels/avx512/pack512.cpp)
// against the plain definition dst[k·32 + c] = src[c·ld + k] (0 for c ≥ nrows): every row count
// around the two 16-row halves, K around the 16-column tiles, a leading dimension wider than K.
// Packing only moves floats, so the comparison is exact.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/avx512/pack512.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {
namespace {

TEST(PackRowsTransposed, EqualsTheDefinitionIncludingZeroPadding) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the packer is never called";
  Rng rng(5);
  for (int64_t nrows : {1, 5, 15, 16, 17, 31, 32})
    for (int64_t K : {1, 7, 15, 16, 17, 33, 256}) {
      const int64_t ld = K + 5;
      std::vector<float> src(32 * ld);
      for (float& v : src) v = rng.uniform(-1.0f, 1.0f);
      Tensor dst = Tensor::uninitialized({K, 32});
      for (int64_t i = 0; i < K * 32; ++i) dst.data()[i] = 7.0f;  // must all be overwritten
      avx512::pack_rows_transposed(src.data(), ld, nrows, K, dst.data());
      int64_t bad = 0;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t c = 0; c < 32; ++c)
          bad += dst.data()[k * 32 + c] != (c < nrows ? src[c * ld + k] : 0.0f);
      EXPECT_EQ(bad, 0) << "nrows " << nrows << " K " << K;
    }
}

}  // namespace
}  // namespace recurrent
