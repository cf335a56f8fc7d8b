// The CLI's MPI collective and job control (contract in cli/mpi_comm.h).
#include "cli/mpi_comm.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
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
  RC_CHECK(end && *end == '\0' && t > 0, "RECURRENT_MPI_TIMEOUT", "expected a positive number of seconds, got '", v, "'");
  return t;
}

// Non-blocking allreduces (MPI_Iallreduce) waited for by polling, so a peer that never arrives ends the
// job after the time-out instead of hanging it. Buckets of one step are started back to back and
// waited for together. Integer counts: buffers are cut into parts of at most 2^30 elements.
class MpiCollective final : public train::Collective {
 public:
  explicit MpiCollective(double timeout) : timeout_(timeout) {}
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
  void run(const std::vector<std::pair<void*, size_t>>& bufs, MPI_Datatype type, const std::string& what) {
    constexpr size_t kPart = size_t{1} << 30;
    const size_t esize = type == MPI_FLOAT ? sizeof(float) : sizeof(double);
    std::vector<MPI_Request> reqs;
    for (const auto& [p, n] : bufs)
      for (size_t a = 0; a < n; a += kPart) {
        reqs.emplace_back();
        MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(p) + a * esize, static_cast<int>(std::min(kPart, n - a)), type,
                       MPI_SUM, MPI_COMM_WORLD, &reqs.back());
      }
    wait(reqs, what);
  }

  // Polls (MPI_Test drives the transfer); after a short spin it sleeps between polls, so a rank that
  // waits leaves the core to a rank that still computes (2 ranks on 2 cores, or oversubscribed).
  void wait(std::vector<MPI_Request>& reqs, const std::string& what) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    for (long polls = 0;; ++polls) {
      int done = 0;
      MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
      if (done) return;
      if (polls < 2000) continue;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      if (std::chrono::duration<double>(Clock::now() - t0).count() > timeout_) {
        std::fprintf(stderr,
                     "recurrent: error: rank %d of %d: %s did not complete within %.0f s (RECURRENT_MPI_TIMEOUT): "
                     "another rank has stopped or hangs; ending the job\n",
                     g_rank, g_size, what.c_str(), timeout_);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
    }
  }

  double timeout_;
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
