// Tensor::borrow: a tensor over memory someone else owns (the Python layer's NumPy arrays and
// PyTorch tensors): no copy, the owner kept alive by every view, never freed by the storage, and a
// fresh storage id per borrow (what the packed-weight cache keys on).
#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/core/tensor.h"

namespace recurrent {
namespace {

TEST(TensorBorrow, SharesMemoryAndKeepsTheOwnerAlive) {
  auto buf = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::weak_ptr<std::vector<float>> alive = buf;
  Tensor view;
  {
    Tensor t = Tensor::borrow(buf->data(), {2, 3}, buf);
    buf.reset();  // the tensor is now the only owner
    EXPECT_EQ(std::as_const(t).data(), alive.lock()->data());  // no copy
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_FLOAT_EQ(t.at({1, 2}), 6.0f);
    view = t.select(0, 1);
  }
  EXPECT_FALSE(alive.expired());  // a view keeps it
  EXPECT_FLOAT_EQ(view.at({0}), 4.0f);
  view.at({0}) = 40.0f;  // writes go to the owner's memory
  EXPECT_FLOAT_EQ((*alive.lock())[3], 40.0f);
  view = Tensor();
  EXPECT_TRUE(alive.expired());  // released with the last view, not freed by the storage
}

TEST(TensorBorrow, IdentityAndVersion) {
  std::vector<float> mem(4, 0.0f);
  Tensor a = Tensor::borrow(mem.data(), {4}, nullptr);
  Tensor b = Tensor::borrow(mem.data(), {4}, nullptr);
  EXPECT_NE(a.storage_id(), b.storage_id());  // a new borrow is a new identity for caches
  const uint64_t v = a.version();
  a.data();  // how the Python layer reports a write made through the owner
  EXPECT_GT(a.version(), v);
  Tensor c = a.clone();  // a copy is the library's own memory
  EXPECT_NE(std::as_const(c).data(), mem.data());
}

TEST(TensorBorrow, RejectsBadShapes) {
  float x = 0.0f;
  EXPECT_THROW(Tensor::borrow(&x, {-1}, nullptr), Error);
  EXPECT_THROW(Tensor::borrow(nullptr, {2}, nullptr), Error);
  EXPECT_NO_THROW(Tensor::borrow(nullptr, {0}, nullptr));
}

}  // namespace
}  // namespace recurrent
