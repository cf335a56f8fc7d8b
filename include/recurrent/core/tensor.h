// recurrent/core/tensor.h — float32 n-d tensor: shape + strides over shared, 64-byte aligned storage.
//
// A Tensor is a view: (storage, offset, shape, strides). Copying a Tensor shares storage (like
// torch.Tensor); clone() copies the data. Views (slice, select, transpose, view) share storage.
// Kernels take raw pointers and need contiguous row-major data: call contiguous() first.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace recurrent {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);           // "[2, 3]"
int64_t shape_numel(const Shape& s);

// 64-byte aligned float buffer; memory is zero-initialised unless `zero` is false (then its
// contents are undefined until written).
//
// Identity and version (what caches derived from a tensor's values key on, e.g. the RNN's packed
// weight panels, src/nn/rnn_panel_cache.h): id() is unique in the process (never reused, unlike the
// address), version() grows whenever someone may have written: every non-const access of a Tensor
// over this storage (Tensor::data(), at(), copy_, fill_, zero_; the optimizers and checkpoint loading
// go through these) bumps it once, when the pointer is handed out. So (id, version) unchanged means the
// values are unchanged, as long as nobody keeps a float* from an earlier non-const access and writes
// through it after a reader looked (take the pointer again for each write: it costs one relaxed add).
class Storage {
 public:
  explicit Storage(size_t n, bool zero = true);
  // Memory someone else owns (a NumPy array, a PyTorch tensor): not copied, not freed; `owner` is
  // held until this storage dies. Writes through the owner's own handles do not bump version():
  // whoever writes that way calls Tensor::data() once afterwards (the Python layer does, from
  // PyTorch's version counter).
  Storage(float* external, size_t n, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data() { return data_; }  // does not bump: Tensor's non-const accessors do
  const float* data() const { return data_; }
  size_t size() const { return n_; }
  uint64_t id() const { return id_; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  float* data_ = nullptr;
  size_t n_ = 0;
  uint64_t id_;
  std::atomic<uint64_t> version_{0};
  std::shared_ptr<void> owner_;  // set for external memory (then data_ is not ours)
  bool external_ = false;
};

class Tensor {
 public:
  Tensor() = default;                              // undefined tensor (defined() == false)
  explicit Tensor(Shape shape);                    // zeros

  static Tensor zeros(Shape shape) { return Tensor(std::move(shape)); }
  // Contents unspecified (not zeroed): only for buffers the caller overwrites entirely before
  // reading (the RNN tapes: tens of MB per call, whose zeroing was a serial pass over memory; a word
  // LM's [400, 10000] logits, 16 MB per step).
  static Tensor uninitialized(Shape shape);
  static Tensor ones(Shape shape) { return full(std::move(shape), 1.0f); }
  static Tensor full(Shape shape, float value);
  static Tensor from(std::vector<float> values, Shape shape);  // values.size() == numel
  // A contiguous tensor over external memory (Storage's external constructor): no copy.
  static Tensor borrow(float* data, Shape shape, std::shared_ptr<void> owner);
  static Tensor scalar(float v) { return from({v}, {}); }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;                   // negative d counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  bool is_contiguous() const;
  bool same_shape(const Tensor& o) const { return shape_ == o.shape_; }

  float* data();                                   // pointer to element 0 of this view (bumps version())
  const float* data() const;                       // reading: no bump (std::as_const on a non-const one)
  float& at(std::initializer_list<int64_t> idx);   // bounds-checked element access (bumps version())
  float at(std::initializer_list<int64_t> idx) const;
  // The storage's identity and write counter (Storage above); 0 / 0 for an undefined tensor. Views
  // share both with their base: a write through any of them changes every one's version.
  uint64_t storage_id() const;
  uint64_t version() const;
  float item() const;                              // numel() == 1

  // --- views (share storage) ---
  Tensor view(Shape shape) const;                  // contiguous only; one dim may be -1
  Tensor slice(int64_t d, int64_t start, int64_t end) const;  // [start, end) along d
  Tensor select(int64_t d, int64_t i) const;       // removes dim d
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor unsqueeze(int64_t d) const;

  // --- copies ---
  Tensor contiguous() const;                       // self if already contiguous
  Tensor clone() const;                            // always a fresh contiguous copy
  void copy_(const Tensor& src);                   // same shape; any strides (bumps version())
  Tensor& fill_(float v);                          // bumps version() (so does zero_)
  Tensor& zero_() { return fill_(0.0f); }
  std::vector<float> to_vector() const;

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  Shape shape_;
  Shape strides_;
};

Shape contiguous_strides(const Shape& s);

}  // namespace recurrent
