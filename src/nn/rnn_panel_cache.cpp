// The packed forward panels kept across calls. Contract: rnn_panel_cache.h.
#include "nn/rnn_panel_cache.h"

#include <utility>

namespace recurrent::rnn {

std::shared_ptr<const PanelCache::Entry> PanelCache::find(const PanelKey& key) {
  std::shared_ptr<const Entry> e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e = entry_[key.fold ? 1 : 0];
  }
  if (e && e->key == key) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return e;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void PanelCache::publish(std::shared_ptr<const Entry> e) {
  if (!e) return;
  std::shared_ptr<const Entry> old;  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  const int slot = e->key.fold ? 1 : 0;
  old = std::exchange(entry_[slot], std::move(e));
}

void PanelCache::clear() {
  std::shared_ptr<const Entry> old[2];  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < 2; ++i) old[i] = std::exchange(entry_[i], nullptr);
}

}  // namespace recurrent::rnn
