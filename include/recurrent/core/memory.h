// recurrent/core/memory.h — an upper bound on one tensor's storage, and the exception a refused or
// failed allocation throws.
//
// The library reads nothing about the machine; the CLI sets the bound to what the machine can hold at
// all (memory and swap, a cgroup limit, RLIMIT_AS/RLIMIT_DATA: src/cli/memory_check.h), so a size no
// machine like this one could hold is refused before the allocator sees it (an allocator asked for a
// petabyte may abort instead of failing, as AddressSanitizer's does). The default is no bound.
#pragma once

#include <cstddef>
#include <new>

namespace recurrent {

// Bytes one storage may take at most; 0 (the default): no bound.
void set_allocation_limit(size_t bytes);
size_t allocation_limit();

// A storage of `bytes` was refused (above allocation_limit()) or the allocator failed.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(size_t bytes) : bytes_(bytes) {}
  size_t bytes() const { return bytes_; }
  const char* what() const noexcept override { return "out of memory"; }

 private:
  size_t bytes_;
};

}  // namespace recurrent
