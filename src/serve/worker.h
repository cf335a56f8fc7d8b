// serve/worker.h — one thread that owns a model and runs its jobs one at a time, from a bounded queue
// (the non-LM engines: serve/task_engine.h, serve/speech_engine.h). The HTTP threads only enqueue and
// wait on the futures; a job's exceptions travel in its future.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace recurrent::serve {

// 32 random hex digits (session ids).
std::string random_id();

class Worker {
 public:
  // At most max_queue jobs wait beyond the one running. `tick`, when given, runs on the thread about
  // once a second (idle sweeps). `depth`, when given, is kept at the number of jobs waiting (a gauge).
  explicit Worker(int64_t max_queue, std::function<void()> tick = {}, std::atomic<int64_t>* depth = nullptr);
  ~Worker();  // shutdown() and join
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // An invalid future when the queue is full or the worker shuts down.
  template <class F>
  auto try_run(F fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    if (!enqueue([task] { (*task)(); })) return {};
    return task->get_future();
  }
  bool accepting() const;
  void shutdown();  // queued jobs fail (broken promise); the one running finishes

 private:
  bool enqueue(std::function<void()> job);
  void loop();
  int64_t max_queue_;
  std::function<void()> tick_;
  std::atomic<int64_t>* depth_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace recurrent::serve
