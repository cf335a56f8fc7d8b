#include <gtest/gtest.h>

#include "recurrent/core/error.h"
#include "recurrent/core/tensor.h"

using namespace recurrent;

TEST(Tensor, ZerosShapeStridesAlignment) {
  Tensor t({2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (float v : t.to_vector()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor row = t.select(0, 1);
  EXPECT_EQ(row.shape(), (Shape{3}));
  row.at({0}) = 30;
  EXPECT_EQ(t.at({1, 0}), 30);
  Tensor tr = t.transpose(0, 1);
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.at({2, 1}), 5);
  EXPECT_EQ(tr.contiguous().to_vector(), (std::vector<float>{0, 30, 1, 4, 2, 5}));
  Tensor sl = t.slice(1, 1, 3);
  EXPECT_EQ(sl.to_vector(), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(t.view({3, -1}).shape(), (Shape{3, 2}));
  EXPECT_EQ(t.unsqueeze(1).shape(), (Shape{2, 1, 3}));
}

TEST(Tensor, CopyIntoStridedView) {
  Tensor t({2, 3});
  Tensor src = Tensor::from({1, 2, 3, 4, 5, 6}, {3, 2});
  t.transpose(0, 1).copy_(src);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 3, 5, 2, 4, 6}));
  Tensor c = t.clone();
  c.fill_(7);
  EXPECT_EQ(t.at({0, 0}), 1);
}

TEST(Tensor, ErrorsNameWhatWasExpected) {
  Tensor t({2, 3});
  try {
    t.view({4, 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.at({2, 0}), Error);
  EXPECT_THROW(t.slice(1, 2, 4), Error);
  EXPECT_THROW(Tensor::from({1, 2}, {3}), Error);
}

// Freed blocks ≥ 256 KiB are kept and reused for the next tensor of the same size
// (src/core/tensor.cpp): a reused block must still start zeroed, like a fresh one.
TEST(Tensor, ReusedLargeBlockStartsZeroed) {
  // Sizes no other test uses, so the cache holds no older block of the same size.
  for (int64_t n : {(int64_t(1) << 16) + 112, (int64_t(3) << 20) + 48}) {  // ~256 KiB, ~12 MiB (huge pages)
    const float* first = nullptr;
    {
      Tensor a({n});
      first = a.data();
      a.fill_(7.0f);
    }
    Tensor b({n});
    bool zero = true;
    for (int64_t i = 0; i < n; ++i) zero = zero && b.data()[i] == 0.0f;
    EXPECT_TRUE(zero) << "n=" << n;
    EXPECT_EQ(b.data(), first) << "n=" << n << ": the freed block was not reused";
  }
}
