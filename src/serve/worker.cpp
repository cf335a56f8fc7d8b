// One model thread with a bounded job queue (contract in serve/worker.h).
#include "serve/worker.h"

#include <random>

#include "recurrent/autograd/var.h"
#include "recurrent/core/threads.h"

namespace recurrent::serve {

std::string random_id() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    const uint32_t x = rd();
    for (int k = 0; k < 4; ++k) s += hex[(x >> (4 * k)) & 15];
  }
  return s;
}

Worker::Worker(int64_t max_queue, std::function<void()> tick, std::atomic<int64_t>* depth)
    : max_queue_(max_queue), tick_(std::move(tick)), depth_(depth) {
  thread_ = std::thread([this, n = num_threads()] {
    adopt_num_threads(n);  // --threads: OpenMP's count is per thread
    loop();
  });
}

Worker::~Worker() {
  shutdown();
  if (thread_.joinable()) thread_.join();
}

bool Worker::accepting() const {
  std::lock_guard<std::mutex> l(mu_);
  return !stopping_;
}

void Worker::shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool Worker::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || static_cast<int64_t>(jobs_.size()) >= max_queue_ + 1) return false;
    jobs_.push_back(std::move(job));
    if (depth_) *depth_ = static_cast<int64_t>(jobs_.size());
  }
  cv_.notify_all();
  return true;
}

void Worker::loop() {
  NoGradGuard ng;  // inference only, on this thread
  auto ticked = std::chrono::steady_clock::now();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(1), [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) {
        jobs_.clear();  // their promises break: the HTTP side answers 503
        return;
      }
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
        if (depth_) *depth_ = static_cast<int64_t>(jobs_.size());
      }
    }
    if (job) job();
    if (tick_ && std::chrono::steady_clock::now() - ticked > std::chrono::seconds(1)) {
      tick_();
      ticked = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace recurrent::serve
