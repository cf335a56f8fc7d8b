// The thread team of a fused time loop (rnn_fused.cpp) and its step barrier, built to degrade
// gracefully when the machine is oversubscribed.
//
// Why not `#pragma omp barrier`: the fused loops meet once per time step (every ~10-1000 µs). When
// other processes occupy the cores, one of our threads is descheduled for a whole time slice
// (milliseconds) and the other waits for it at every step; libgomp's barrier spins through that wait
// (GOMP_SPINCOUNT, ~ms of `pause`), burning the CPU share the descheduled partner needs. LM training
// fell from ~21k to ~1.2k chars/s with two busy processes beside it.
//
// What StepTeam does instead:
//  1. spin briefly (kSpinNs of `pause`): enough for a partner that runs and is only a little behind;
//  2. then sleep on a futex (std::atomic::wait); the last arriver wakes sleepers;
//  3. go SOLO when the partner was descheduled: the last arriver sees how long the first one waited;
//     a wait above kSoloAfterNs + 2 × the waiter's own work since the previous barrier cannot be
//     imbalance (a time slice lost to an equal-priority process is ~1.5-6 ms), so from that barrier on thread 0 does every block of the remaining steps and the
//     other threads leave the loop and sleep until thread 0 finishes (finish()). Results are bitwise
//     the same: a block's arithmetic does not depend on which thread runs it. Not at a loop's first
//     sync: a late partner there is an OpenMP worker waking from sleep (team start-up), not a lost slice.
//  4. remember: a call that went solo makes the following 1, 2, 4, ... 16 calls start on one thread
//     (no team at all); a call that completes with its team resets the back-off. So a loaded machine
//     pays the detection (one time slice) rarely, an idle one never.
// configure(false, ...) (the CLI's RECURRENT_RNN_SOLO=0) turns 3 and 4 off (the barrier still spins then
// sleeps), to compare; configure(..., true) (RECURRENT_RNN_BARRIER=omp) restores the plain
// `#pragma omp barrier` (before this change).
#pragma once

#include <atomic>
#include <cstdint>

namespace recurrent::rnn {

class StepTeam {
 public:
  static constexpr int kMaxThreads = 64;
  static constexpr int64_t kSpinNs = 50'000;         // spin this long before sleeping
  static constexpr int64_t kSoloAfterNs = 1'000'000;  // a wait this much above the work is a descheduled partner
  static constexpr int kMaxBackoff = 16;              // calls on one thread after a solo call, at most

  // Threads for a loop of nb blocks: min(num_threads(), nb), or 1 while the back-off says so.
  static int plan(int64_t nb);
  // may_go_solo = false: a plain spin-then-sleep barrier (tests of the barrier itself).
  explicit StepTeam(int n, bool may_go_solo = true);
  ~StepTeam();  // records the outcome for the back-off

  int size() const { return n_; }
  // Every member thread at the end of each phase; returns when all have arrived (all writes of the
  // phase visible). Never call it once solo() is true.
  void sync(int tid);
  bool solo() const { return solo_.load(std::memory_order_acquire); }
  // The blocks [b0, b1) thread tid owns now (static split, or all / none once solo).
  void span(int tid, int64_t nb, int64_t& b0, int64_t& b1) const;
  // End of the loop, every member thread: thread 0 releases the threads that left; they sleep here.
  void finish(int tid);

  // Tests: force the team solo at its k-th sync (k ≥ 1; 0 = never), for every team created after.
  static void force_solo_at(int64_t k);
  // Process-wide switches for measurements (defaults: may go solo, StepTeam's barrier).
  static void configure(bool may_go_solo, bool omp_barrier);
  // Tests: forget the back-off (the next teams start with all their threads).
  static void reset_backoff();

 private:
  int n_;
  int64_t syncs_ = 0;         // counted by the last arriver only
  bool natural_solo_ = false;  // solo by detection (not forced): feeds the back-off
  int64_t force_at_;
  bool may_go_solo_;
  alignas(64) std::atomic<int> count_{0};
  alignas(64) std::atomic<uint32_t> gen_{0};
  alignas(64) std::atomic<bool> solo_{false};
  std::atomic<uint32_t> done_{0};
  struct alignas(64) Clock {
    int64_t phase_start = 0;  // ns, when this thread left the previous barrier
    std::atomic<int64_t> arrived{0};
  };
  Clock clock_[kMaxThreads];
};

}  // namespace recurrent::rnn
