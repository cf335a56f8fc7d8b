// recurrent/core/threads.h — thread-count control for the whole library (OpenMP, shared with oneDNN).
//
// Default: all cores. The library reads no environment; the CLI sets the count from --threads, else
// from RECURRENT_NUM_THREADS (src/cli/engine_env.h). Results are deterministic for a given seed *and*
// thread count.
//
// Threads that fit the work: waking a team costs microseconds on an idle machine and a whole time slice
// (milliseconds) when other processes hold the cores, so a call whose work is below
// min_parallel_work() multiply-adds runs on one thread (threads_for). The decision depends only on the
// shapes, never on timing, so results stay deterministic. The library default is 0 (every call may use
// the team: what its tests of the parallel paths need); the CLI and the Python package set
// kDefaultMinParallelWork.
#pragma once

namespace recurrent {

int num_threads();
void set_num_threads(int n);      // n >= 1
// OpenMP keeps the thread count per thread: set_num_threads sets the calling thread's, and a thread
// started later with std::thread begins from OpenMP's default (all cores), not from it. Such a thread
// (a server's engine thread) calls adopt_num_threads(n), n = num_threads() read where it was started,
// so its regions (oneDNN's included) use n threads. n >= 1; the library's count is not changed.
void adopt_num_threads(int n);

inline constexpr double kDefaultMinParallelWork = 1 << 18;  // ~262k multiply-adds: ~10-20 µs on one core
void set_min_parallel_work(double multiply_adds);            // >= 0; 0: no call is too small for the team
double min_parallel_work();
int threads_for(double multiply_adds);  // 1 below min_parallel_work(), else num_threads()

// Threads that fit the machine's load now (what libgomp's OMP_DYNAMIC does with the load average, but
// from the instantaneous count of runnable tasks, so it follows what runs at this moment): `cores` less
// the tasks of other processes that are running or waiting for a core, at least 1. For commands whose
// results do not depend on the thread count (inference: tested), so the choice never changes an output.
// others_running: the runnable tasks besides the caller, the least of a few reads of /proc/loadavg 1 ms
// apart (one read can catch a short-lived task; a read that sees only the caller ends it, so an idle machine
// waits for nothing); -1 where the count cannot be read (then no fit).
int fit_threads_to_load(int cores, int others_running);  // clamp(cores - others_running, 1, cores)
int others_running();

// OpenMP regions started by this thread while the scope lives (oneDNN's included) use at most n threads.
class ThreadScope {
 public:
  explicit ThreadScope(int n);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int prev_;
};

}  // namespace recurrent
