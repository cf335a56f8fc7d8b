// Tensor: views over aligned storage. See include/recurrent/core/tensor.h.
#include "recurrent/core/tensor.h"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <sstream>
#include <utility>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/core/memory.h"

namespace recurrent {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// Large buffers (the RNN tapes: tens of MiB per call) are 2 MiB-aligned and marked for transparent
// huge pages: glibc returns them to the kernel on free, so every call faults its pages in again;
// with 2 MiB pages that is 512× fewer faults (measured: page faults and page clearing were ~20% of
// an LSTM training step at H=256, B=64, T=100). Only a hint: without THP nothing changes.
// Freed blocks of at least kCacheMin bytes are also kept (exact size, at most kCacheBytes in all;
// when full, the oldest kept blocks are released first) and handed to the next request of the same
// size: a training loop allocates the same shapes every step, and then neither faults pages in nor
// has the kernel clear them again (~7% of that step, 1 thread). Blocks below 4 MiB are cached too:
// glibc serves them with mmap or trims them off the heap top, so without the cache the char LM
// (2x256 LSTM, batch 32: [T·B, H] tensors of 3.3 MB) faulted in and cleared 4 KiB pages every step,
// on the main thread while the other one waited (perf, `recurrent train lm ... --threads 2`: page
// faults + clearing ~3.5% of all samples, all on thread 0).
namespace {
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kCacheMin = size_t(256) << 10;
constexpr size_t kCacheBytes = size_t(256) << 20;

size_t storage_bytes(size_t n) {
  size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
  if (bytes == 0) bytes = 64;
  if (bytes >= 2 * kHuge) bytes = (bytes + kHuge - 1) / kHuge * kHuge;
  return bytes;
}

struct BlockCache {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> blocks;  // (bytes, pointer)
  size_t total = 0;
};
BlockCache& block_cache() {
  static BlockCache* c = new BlockCache;  // never destroyed: Storage may die during static destruction
  return *c;
}

void* take_cached(size_t bytes) {
  BlockCache& c = block_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (size_t i = 0; i < c.blocks.size(); ++i)
    if (c.blocks[i].first == bytes) {
      void* p = c.blocks[i].second;
      c.blocks.erase(c.blocks.begin() + static_cast<std::ptrdiff_t>(i));
      c.total -= bytes;
      return p;
    }
  return nullptr;
}

bool give_cached(void* p, size_t bytes) {
  if (bytes > kCacheBytes) return false;
  BlockCache& c = block_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  size_t drop = 0;  // oldest blocks released to make room (sizes nobody asks for any more)
  while (c.total + bytes > kCacheBytes) {
    c.total -= c.blocks[drop].first;
    std::free(c.blocks[drop++].second);
  }
  c.blocks.erase(c.blocks.begin(), c.blocks.begin() + static_cast<std::ptrdiff_t>(drop));
  c.blocks.emplace_back(bytes, p);
  c.total += bytes;
  return true;
}
}  // namespace

namespace {
std::atomic<uint64_t> g_next_storage_id{1};  // 0: no storage
}

namespace {
std::atomic<size_t> g_allocation_limit{0};  // core/memory.h; 0: none
}

void set_allocation_limit(size_t bytes) { g_allocation_limit.store(bytes, std::memory_order_relaxed); }
size_t allocation_limit() { return g_allocation_limit.load(std::memory_order_relaxed); }

Storage::Storage(size_t n, bool zero) : n_(n), id_(g_next_storage_id.fetch_add(1, std::memory_order_relaxed)) {
  const size_t limit = allocation_limit();
  // n floats overflow size_t's bytes long before any limit matters: compare elements, not bytes.
  if (limit > 0 && n > limit / sizeof(float)) throw OutOfMemory(n > SIZE_MAX / sizeof(float) ? SIZE_MAX : n * sizeof(float));
  const size_t bytes = storage_bytes(n);
  const bool huge = bytes >= 2 * kHuge;
  data_ = bytes >= kCacheMin ? static_cast<float*>(take_cached(bytes)) : nullptr;
  if (!data_) {
    data_ = static_cast<float*>(std::aligned_alloc(huge ? kHuge : 64, bytes));
    if (!data_) throw OutOfMemory(bytes);
#ifdef MADV_HUGEPAGE
    if (huge) madvise(data_, bytes, MADV_HUGEPAGE);
#endif
  }
  if (zero) std::memset(data_, 0, bytes);
}

Storage::Storage(float* external, size_t n, std::shared_ptr<void> owner)
    : data_(external), n_(n), id_(g_next_storage_id.fetch_add(1, std::memory_order_relaxed)),
      owner_(std::move(owner)), external_(true) {}

Storage::~Storage() {
  if (external_) return;  // owner_ releases the memory
  const size_t bytes = storage_bytes(n_);
  if (bytes >= kCacheMin && give_cached(data_, bytes)) return;
  std::free(data_);
}

namespace {
// The element count of a new tensor's storage; a count past size_t (a product of huge sizes) is a request
// no memory holds, not a wrapped-around small one.
size_t storage_numel(const Shape& s) {
  size_t n = 1;
  for (int64_t d : s) {
    RC_CHECK(d >= 0, "Tensor", "negative dimension in shape ", shape_str(s));
    if (d == 0) return 0;
    if (__builtin_mul_overflow(n, static_cast<size_t>(d), &n)) throw OutOfMemory(SIZE_MAX);
  }
  return n;
}
}  // namespace

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  const size_t n = storage_numel(shape_);
  strides_ = contiguous_strides(shape_);
  storage_ = std::make_shared<Storage>(n);
}

Tensor Tensor::uninitialized(Shape shape) {
  const size_t n = storage_numel(shape);
  Tensor t;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  t.storage_ = std::make_shared<Storage>(n, false);
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = uninitialized(std::move(shape));
  t.fill_(value);
  return t;
}

Tensor Tensor::from(std::vector<float> values, Shape shape) {
  RC_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "Tensor::from", "got ", values.size(),
           " values for shape ", shape_str(shape));
  Tensor t(std::move(shape));
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::borrow(float* data, Shape shape, std::shared_ptr<void> owner) {
  for (int64_t d : shape) RC_CHECK(d >= 0, "Tensor::borrow", "negative dimension in shape ", shape_str(shape));
  RC_CHECK(data != nullptr || shape_numel(shape) == 0, "Tensor::borrow", "null data for shape ", shape_str(shape));
  Tensor t;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  t.storage_ = std::make_shared<Storage>(data, static_cast<size_t>(t.numel()), std::move(owner));
  return t;
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < 0) d += n;
  RC_CHECK(d >= 0 && d < n, "Tensor::size", "dimension ", d, " out of range for shape ", shape_str(shape_));
  return shape_[d];
}

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

float* Tensor::data() {
  if (!storage_) return nullptr;
  storage_->bump();  // the caller may write (once per call: never inside a kernel's loop)
  return storage_->data() + offset_;
}
const float* Tensor::data() const {
  return storage_ ? std::as_const(*storage_).data() + offset_ : nullptr;
}
uint64_t Tensor::storage_id() const { return storage_ ? storage_->id() : 0; }
uint64_t Tensor::version() const { return storage_ ? storage_->version() : 0; }

static int64_t flat_index(const Shape& shape, const Shape& strides, std::initializer_list<int64_t> idx) {
  RC_CHECK(idx.size() == shape.size(), "Tensor::at", "expected ", shape.size(), " indices, got ", idx.size());
  int64_t off = 0, d = 0;
  for (int64_t i : idx) {
    RC_CHECK(i >= 0 && i < shape[d], "Tensor::at", "index ", i, " out of range for dim ", d, " of ", shape_str(shape));
    off += i * strides[d++];
  }
  return off;
}

float& Tensor::at(std::initializer_list<int64_t> idx) { return data()[flat_index(shape_, strides_, idx)]; }
float Tensor::at(std::initializer_list<int64_t> idx) const { return data()[flat_index(shape_, strides_, idx)]; }

float Tensor::item() const {
  RC_CHECK(numel() == 1, "Tensor::item", "expected one element, shape is ", shape_str(shape_));
  return *data();
}

Tensor Tensor::view(Shape shape) const {
  RC_CHECK(is_contiguous(), "Tensor::view", "needs a contiguous tensor");
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      RC_CHECK(infer < 0, "Tensor::view", "only one dimension may be -1");
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    RC_CHECK(known > 0 && numel() % known == 0, "Tensor::view", "cannot view ", shape_str(shape_), " as ", shape_str(shape));
    shape[infer] = numel() / known;
  }
  RC_CHECK(shape_numel(shape) == numel(), "Tensor::view", "cannot view ", shape_str(shape_), " as ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  return t;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  if (d < 0) d += dim();
  RC_CHECK(d >= 0 && d < dim(), "Tensor::slice", "dimension ", d, " out of range for ", shape_str(shape_));
  RC_CHECK(0 <= start && start <= end && end <= shape_[d], "Tensor::slice", "range [", start, ", ", end,
           ") out of bounds for dim ", d, " of ", shape_str(shape_));
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t i) const {
  if (d < 0) d += dim();
  RC_CHECK(d >= 0 && d < dim(), "Tensor::select", "dimension ", d, " out of range for ", shape_str(shape_));
  RC_CHECK(i >= 0 && i < shape_[d], "Tensor::select", "index ", i, " out of range for dim ", d, " of ", shape_str(shape_));
  Tensor t = *this;
  t.offset_ += i * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  if (a < 0) a += dim();
  if (b < 0) b += dim();
  RC_CHECK(a >= 0 && a < dim() && b >= 0 && b < dim(), "Tensor::transpose", "dims out of range for ", shape_str(shape_));
  Tensor t = *this;
  std::swap(t.shape_[a], t.shape_[b]);
  std::swap(t.strides_[a], t.strides_[b]);
  return t;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  if (d < 0) d += dim() + 1;
  RC_CHECK(d >= 0 && d <= dim(), "Tensor::unsqueeze", "dimension out of range");
  Tensor t = *this;
  int64_t st = d < dim() ? shape_[d] * strides_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return t;
}

// Visit every element of a strided view in row-major order.
template <typename F>
static void for_each_offset(const Shape& shape, const Shape& strides, F&& f) {
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    f(k, off);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= (shape[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
}

void Tensor::copy_(const Tensor& src) {
  RC_CHECK(src.shape_ == shape_, "Tensor::copy_", "shape ", shape_str(src.shape_), " into ", shape_str(shape_));
  if (is_contiguous() && src.is_contiguous()) {
    if (numel()) std::memmove(data(), src.data(), numel() * sizeof(float));
    return;
  }
  Tensor s = src.contiguous();
  const float* sp = s.data();
  float* dp = data();
  for_each_offset(shape_, strides_, [&](int64_t k, int64_t off) { dp[off] = sp[k]; });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(shape_);
  float* dp = t.data();
  const float* sp = data();
  if (is_contiguous()) {
    if (numel()) std::memcpy(dp, sp, numel() * sizeof(float));
  } else {
    for_each_offset(shape_, strides_, [&](int64_t k, int64_t off) { dp[k] = sp[off]; });
  }
  return t;
}

Tensor& Tensor::fill_(float v) {
  float* dp = data();
  if (is_contiguous() && v == 0.0f && !std::signbit(v)) {
    // +0 is all zero bits: memset (libc's widest stores; zero_grad clears every gradient each step).
    if (numel() > 0) std::memset(dp, 0, static_cast<size_t>(numel()) * sizeof(float));
  } else if (is_contiguous()) {
    for (int64_t i = 0, n = numel(); i < n; ++i) dp[i] = v;
  } else {
    for_each_offset(shape_, strides_, [&](int64_t, int64_t off) { dp[off] = v; });
  }
  return *this;
}

std::vector<float> Tensor::to_vector() const {
  const Tensor c = contiguous();  // const: reading must not bump the version
  return std::vector<float>(c.data(), c.data() + c.numel());
}

}  // namespace recurrent
