// The step barrier of the fused time loops. Contract and reasons: rnn_team.h.
#include "nn/rnn_team.h"

#include <algorithm>
#include <chrono>

#include "core/cpu_hints.h"
#include "recurrent/core/threads.h"

namespace recurrent::rnn {

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::atomic<bool> g_degrade{true};    // configure(): the team may go solo on a busy machine
std::atomic<bool> g_omp_barrier{false};  // configure(): `#pragma omp barrier` and no solo switch (measurements)
bool degrade_enabled() { return g_degrade.load(std::memory_order_relaxed); }
bool omp_barrier_mode() { return g_omp_barrier.load(std::memory_order_relaxed); }

std::atomic<int> g_skip{0};       // calls still to run on one thread
std::atomic<int> g_penalty{0};    // length of the last back-off
std::atomic<int64_t> g_force{0};  // tests: go solo at this sync
}  // namespace

void StepTeam::configure(bool may_go_solo, bool omp_barrier) {
  g_degrade.store(may_go_solo, std::memory_order_relaxed);
  g_omp_barrier.store(omp_barrier, std::memory_order_relaxed);
}

int StepTeam::plan(int64_t nb) {
  const int n = static_cast<int>(std::min<int64_t>({num_threads(), nb, kMaxThreads}));
  if (n <= 1) return 1;
  int s = g_skip.load(std::memory_order_relaxed);
  while (s > 0)
    if (g_skip.compare_exchange_weak(s, s - 1, std::memory_order_relaxed)) return 1;
  return n;
}

StepTeam::StepTeam(int n, bool may_go_solo)
    : n_(n), force_at_(g_force.load(std::memory_order_relaxed)), may_go_solo_(may_go_solo && degrade_enabled() && !omp_barrier_mode()) {
  const int64_t t = now_ns();
  for (int i = 0; i < n_; ++i) clock_[i].phase_start = t;
}

StepTeam::~StepTeam() {
  if (n_ <= 1 || !may_go_solo_) return;
  if (natural_solo_) {
    const int p = std::min(kMaxBackoff, std::max(1, 2 * g_penalty.load(std::memory_order_relaxed)));
    g_penalty.store(p, std::memory_order_relaxed);
    g_skip.store(p, std::memory_order_relaxed);
  } else if (!solo()) {
    g_penalty.store(0, std::memory_order_relaxed);
  }
}

void StepTeam::force_solo_at(int64_t k) { g_force.store(k, std::memory_order_relaxed); }

void StepTeam::reset_backoff() {
  g_skip.store(0, std::memory_order_relaxed);
  g_penalty.store(0, std::memory_order_relaxed);
}

void StepTeam::span(int tid, int64_t nb, int64_t& b0, int64_t& b1) const {
  if (solo()) {
    b0 = 0;
    b1 = tid == 0 ? nb : 0;
  } else {
    b0 = nb * tid / n_;
    b1 = nb * (tid + 1) / n_;
  }
}

void StepTeam::sync(int tid) {
  if (n_ <= 1) return;
  if (omp_barrier_mode()) {
#pragma omp barrier
    return;
  }
  const int64_t arrive = now_ns();
  clock_[tid].arrived.store(arrive, std::memory_order_relaxed);
  const uint32_t g = gen_.load(std::memory_order_acquire);
  if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    // Last arriver: every other member's clock is visible (their fetch_add released it).
    ++syncs_;
    bool go_solo = force_at_ > 0 && syncs_ == force_at_;
    // Not at the first sync: a partner late there was starting up (an OpenMP worker woken from sleep,
    // 0.1-1+ ms in a VM when the caller ran other work between calls, e.g. PyTorch around
    // recurrent.torch), not descheduled mid-loop; a descheduled partner is seen at the next sync. Counted,
    // that start made every call after a pause go solo, and the back-off then kept the calls on one thread.
    if (may_go_solo_ && syncs_ > 1)
      for (int i = 0; i < n_; ++i) {
        if (i == tid) continue;
        const int64_t arrived = clock_[i].arrived.load(std::memory_order_relaxed);
        const int64_t waited = arrive - arrived, worked = arrived - clock_[i].phase_start;
        if (waited > kSoloAfterNs + 2 * worked) natural_solo_ = go_solo = true;
      }
    if (go_solo) solo_.store(true, std::memory_order_relaxed);
    count_.store(0, std::memory_order_relaxed);
    gen_.fetch_add(1, std::memory_order_release);
    gen_.notify_all();  // a syscall only when someone sleeps
  } else {
    // Spin (a partner that is running arrives within microseconds), then sleep.
    for (int64_t spins = 0; gen_.load(std::memory_order_acquire) == g; ++spins) {
      cpu_relax();
      if ((spins & 63) == 63 && now_ns() - arrive > kSpinNs) {
        while (gen_.load(std::memory_order_acquire) == g) gen_.wait(g, std::memory_order_acquire);
        break;
      }
    }
  }
  clock_[tid].phase_start = now_ns();
}

void StepTeam::finish(int tid) {
  if (n_ <= 1) return;
  if (tid == 0) {
    done_.store(1, std::memory_order_release);
    done_.notify_all();
  } else if (solo()) {  // left the loop early: sleep (not spin) until thread 0 is done
    while (done_.load(std::memory_order_acquire) == 0) done_.wait(0, std::memory_order_acquire);
  }
}

}  // namespace recurrent::rnn
