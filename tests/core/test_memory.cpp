// core/memory.h: a storage above the allocation limit is refused with OutOfMemory (its size in bytes)
// before the allocator is asked, so a size no machine holds never reaches it (AddressSanitizer's allocator
// aborts on such a request instead of failing); without a limit nothing changes.
#include <gtest/gtest.h>

#include <cstdint>

#include "recurrent/core/memory.h"
#include "recurrent/core/tensor.h"

using namespace recurrent;

namespace {
struct LimitScope {  // restores the process-wide limit
  size_t prev = allocation_limit();
  ~LimitScope() { set_allocation_limit(prev); }
};
}  // namespace

TEST(Memory, AStorageAboveTheLimitIsRefusedWithItsSize) {
  LimitScope keep;
  set_allocation_limit(1 << 20);  // 1 MiB
  EXPECT_NO_THROW(Tensor({256, 1024}));  // exactly 1 MiB
  try {
    Tensor t({257, 1024});
    FAIL() << "a 257 KiB-float tensor passed a 1 MiB limit";
  } catch (const OutOfMemory& e) {
    EXPECT_EQ(e.bytes(), size_t{257} * 1024 * sizeof(float));
  }
  // A size whose bytes overflow size_t: refused, not wrapped around to a small allocation.
  EXPECT_THROW(Tensor({int64_t{1} << 62, 8}), OutOfMemory);
  set_allocation_limit(0);
  EXPECT_EQ(allocation_limit(), 0u);
  EXPECT_NO_THROW(Tensor({257, 1024}));
}
