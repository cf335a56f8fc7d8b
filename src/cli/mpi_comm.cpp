// The CLI's MPI collective and job control (contract in cli/mpi_comm.h).
#include "cli/mpi_comm.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/train/dist.h"

#if RECURRENT_HAVE_MPI
#include <mpi.h>
#endif

namespace recurrent::cli {

namespace {
int g_size = 1, g_rank = 0, g_local = 1;

// Launched by mpirun (Open MPI) or another PMI launcher: the size of the job, else 0.
int launched_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* s = std::getenv(v); s && *s) return std::atoi(s);
  return std::getenv("PMIX_RANK") ? 1 : 0;
}

#if RECURRENT_HAVE_MPI
double timeout_from_env() {
  const char* v = std::getenv("RECURRENT_MPI_TIMEOUT");
  if (!v || !*v) return 600.0;
  char* end = nullptr;
  const double t = std::strtod(v, &end);
  // Up to 10^7 s (116 days): a deadline past the clock's range would be undefined, and read as "now".
  RC_CHECK(end && *end == '\0' && t > 0 && t <= 1e7, "RECURRENT_MPI_TIMEOUT",
           "expected a number of seconds in (0, 10000000], got '", v, "'");
  return t;
}

// Blocking MPI_Allreduce, Open MPI's fastest path: on one machine's shared memory a 4 MiB sum takes
// ~1 ms, where MPI_Iallreduce (libnbc) waited for by MPI_Testall took 10-16 ms — each round of its
// schedule moves only when the waiting rank polls (bench/dist/allreduce.cpp --mode polled,
// docs/distributed.md). A peer that hangs without dying would block the call for ever, so a watchdog
// thread (it makes no MPI call: MPI_THREAD_FUNNELED) ends this rank when one collective has run
// longer than the time-out; mpirun (and hydra; srun with --kill-on-bad-exit) then sees a rank exit
// without MPI_Finalize and ends the job.
// Integer counts: buffers are cut into parts of at most 2^30 elements.
class MpiCollective final : public train::Collective {
 public:
  explicit MpiCollective(double timeout) : timeout_(timeout), watchdog_([this] { watch(); }) {}
  ~MpiCollective() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    watchdog_.join();
  }
  int rank() const override { return g_rank; }
  int size() const override { return g_size; }
  void allreduce_sum(float* x, size_t n, const std::string& what) override { run({{x, n}}, MPI_FLOAT, what); }
  void allreduce_sum(double* x, size_t n, const std::string& what) override { run({{x, n}}, MPI_DOUBLE, what); }
  void allreduce_sum_many(const std::vector<std::pair<float*, size_t>>& bufs, const std::string& what) override {
    std::vector<std::pair<void*, size_t>> b;
    for (const auto& [p, n] : bufs) b.push_back({p, n});
    run(b, MPI_FLOAT, what);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void run(const std::vector<std::pair<void*, size_t>>& bufs, MPI_Datatype type, const std::string& what) {
    constexpr size_t kPart = size_t{1} << 30;
    const size_t esize = type == MPI_FLOAT ? sizeof(float) : sizeof(double);
    arm(what);
    for (const auto& [p, n] : bufs)
      for (size_t a = 0; a < n; a += kPart)
        MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(p) + a * esize, static_cast<int>(std::min(kPart, n - a)), type,
                      MPI_SUM, MPI_COMM_WORLD);
    disarm();
  }

  void arm(const std::string& what) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      what_ = what;
      deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_));
      armed_ = true;
      if (!idle_) return;  // the watchdog waits for an older deadline: it will find this one after it
    }
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
  }

  // The watchdog: sleeps until the armed collective's deadline (or until one is armed), and ends the
  // process if that collective is still running then.
  void watch() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!quit_) {
      if (!armed_) {
        idle_ = true;
        cv_.wait(lock);
        idle_ = false;
        continue;
      }
      const auto deadline = deadline_;
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && armed_ && !quit_ && deadline_ == deadline) {
        std::fprintf(stderr,
                     "recurrent: error: rank %d of %d: %s did not complete within %.0f s (RECURRENT_MPI_TIMEOUT): "
                     "another rank has stopped or hangs; ending the job\n",
                     g_rank, g_size, what_.c_str(), timeout_);
        std::fflush(nullptr);  // stderr, and whatever rank 0 has printed so far
        std::_Exit(3);
      }
    }
  }

  double timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, quit_ = false, idle_ = false;
  Clock::time_point deadline_{};
  std::string what_;
  std::thread watchdog_;  // last: started once the members it reads exist
};
#endif
}  // namespace

int start_mpi(int* argc, char*** argv) {
  const int n = launched_size();
  if (n == 0) return 1;
#if RECURRENT_HAVE_MPI
  const double timeout = timeout_from_env();
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);  // only the main thread calls MPI
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &g_local);
  MPI_Comm_free(&local);
  if (g_size > 1) {
    train::set_collective(std::make_shared<MpiCollective>(timeout));
    if (g_rank != 0 && !std::freopen("/dev/null", "w", stdout)) std::fprintf(stderr, "rank %d: cannot silence stdout\n", g_rank);
  }
  return g_size;
#else
  (void)argc, (void)argv;
  RC_CHECK(n <= 1, "mpirun", "this recurrent was built without MPI (install libopenmpi-dev and configure with "
           "-DRECURRENT_MPI=ON), so it cannot join a job of ", n, " ranks");
  return 1;
#endif
}

int local_ranks() { return g_local; }

int finish_mpi(int code) {
#if RECURRENT_HAVE_MPI
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Finalize();
#endif
  return code;
}

int fail(const std::string& what, int code) {
  if (g_size <= 1) {
    std::fprintf(stderr, "recurrent: error: %s\n", what.c_str());
    return finish_mpi(code);
  }
  std::fprintf(stderr, "recurrent: error: rank %d of %d: %s\n", g_rank, g_size, what.c_str());
  std::fflush(stderr);
#if RECURRENT_HAVE_MPI
  MPI_Abort(MPI_COMM_WORLD, code);
#endif
  return code;
}

}  // namespace recurrent::cli
