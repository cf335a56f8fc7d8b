// The fused forward loop's packed weight panels (rnn_fused.h), kept across calls: one cache per
// (layer, direction) of an RNN module (rnn.cpp), handed to the loop through DirParams::cache.
//
// Key: everything the panels' bytes depend on. The weights packed (W_hh; W_ih when the input is folded;
// W_hr with a projection) by their storage's process-unique id, version (bumped by every non-const
// access: optimizer steps, copy_, checkpoint loading; recurrent/core/tensor.h) and element pointer (a
// view's offset); then the SIMD target, the panel width, precision (fp32 / bf16 panels), the fold flag
// and the sizes I, R, H, G (and the cell). The biases and peepholes are not packed: read per call.
//
// One entry per fold setting (the last one packed of each): a model runs one shape family at a time;
// training (a new version every step) just replaces it. A server alternates both settings — a
// single sequence's prime (B = 1: not folded under the rule) between batched steps (B >= 8: folded)
// — and keeps both packed rather than repacking at every change (docs/serve.md). Thread safety: entries are immutable and shared
// (std::shared_ptr<const Entry>); find() and publish() swap the pointer under a mutex, and a forward
// call holds its own reference while it runs, so two threads may run forward on one model at once
// (both may miss and pack; the last to publish stays).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "nn/rnn_direction.h"
#include "recurrent/core/tensor.h"

namespace recurrent::rnn {

struct PanelKey {
  WeightStamp w_ih, w_hh, w_hr;  // w_ih only when folded, w_hr only with a projection; else empty
  int64_t target = 0, panel = 0;
  Precision precision = Precision::fp32;
  bool fold = false;
  CellType cell = CellType::lstm;
  int64_t I = 0, R = 0, H = 0, G = 0;
  bool operator==(const PanelKey&) const = default;
};

class PanelCache {
 public:
  struct Entry {
    PanelKey key;
    Tensor wf, wr;    // fp32 panels (rnn_fused_forward.cpp: Fwd::wf, Fwd::wr), or undefined
    Tensor wfb, wrb;  // bf16 panels (fused::Bf16Buf's storage), or undefined
  };
  // The entry packed for exactly `key` (a hit), or null (a miss).
  std::shared_ptr<const Entry> find(const PanelKey& key);
  void publish(std::shared_ptr<const Entry> e);  // replaces the entry of its key's fold setting
  void clear();                                   // both entries
  // Tests and measurements: lookups since construction.
  int64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  int64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::shared_ptr<const Entry> entry_[2];  // by PanelKey::fold
  std::atomic<int64_t> hits_{0}, misses_{0};
};

}  // namespace recurrent::rnn
