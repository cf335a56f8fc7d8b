// The transposing weight packer of the fused RNN loops (src/kernels/simd/panel-inl.h) on every SIMD
// target this CPU runs: dst[k·P + c] = src[c·ld + k], zero past nrows, every element written.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd_targets.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"

namespace recurrent {
namespace {

class PackRowsTransposed : public ::testing::TestWithParam<int64_t> {};

TEST_P(PackRowsTransposed, EqualsTheDefinitionIncludingZeroPadding) {
  const simd::RnnKernels& kern = simd::rnn_kernels(GetParam());
  const int64_t PW = kern.panel;
  Rng rng(5);
  for (int64_t nrows : {int64_t{1}, int64_t{5}, PW / 2 - 1, PW / 2, PW / 2 + 1, PW - 1, PW})
    for (int64_t K : {1, 7, 15, 16, 17, 33, 256}) {
      const int64_t ld = K + 5;
      std::vector<float> src(PW * ld);
      for (float& v : src) v = rng.uniform(-1.0f, 1.0f);
      Tensor dst = Tensor::uninitialized({K, PW});
      for (int64_t i = 0; i < K * PW; ++i) dst.data()[i] = 7.0f;  // must all be overwritten
      kern.pack_rows_transposed(src.data(), ld, nrows, K, dst.data());
      int64_t bad = 0;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t c = 0; c < PW; ++c)
          bad += dst.data()[k * PW + c] != (c < nrows ? src[c * ld + k] : 0.0f);
      EXPECT_EQ(bad, 0) << "nrows " << nrows << " K " << K;
    }
}

INSTANTIATE_TEST_SUITE_P(Targets, PackRowsTransposed, ::testing::ValuesIn(simd::cpu_targets()),
                         testing::TargetName());

}  // namespace
}  // namespace recurrent
