// Loopback allreduce time: MPI_Allreduce(SUM) of float32 buffers from 4 KiB to 64 MiB between the
// ranks of `mpirun -np N` on one machine, the operation the training driver runs once per step
// (train/dist.h). Checks the sum, then prints per size the median of --reps timed calls (each after
// a barrier) and the ring model's bus bandwidth 2·(N−1)/N · bytes / time. docs/distributed.md.
// --mode blocking (default): one MPI_Allreduce; --mode polled: MPI_Iallreduce on buckets of
// --bucket-mib, waited for by MPI_Testall with a spin then 20 µs sleeps (what training did before);
// --mode rsag: MPI_Reduce_scatter then MPI_Allgatherv (each rank sums its 1/N).
//   mpirun -np 2 --bind-to none build/bench/dist/bench_allreduce [--reps 21] [--max-mib 64] [--mode polled]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {
void polled(float* x, size_t n, size_t bucket) {
  std::vector<MPI_Request> reqs;
  for (size_t a = 0; a < n; a += bucket) {
    reqs.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, x + a, static_cast<int>(std::min(bucket, n - a)), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &reqs.back());
  }
  for (long polls = 0;; ++polls) {
    int done = 0;
    MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
    if (done) return;
    if (polls >= 2000) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}
// Reduce-scatter then allgather (the ring's two halves as two calls): each rank sums 1/N of the buffer.
// n is cut into N parts, the first n % N one longer (train/dist.h's shard()).
// `mine`: the caller's buffer of at least n / N + 1 floats, allocated once (not inside the timed call).
void rsag(float* x, size_t n, int rank, int size, std::vector<float>& mine) {
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    counts[r] = static_cast<int>(n / size + (static_cast<size_t>(r) < n % size ? 1 : 0));
    displs[r] = r == 0 ? 0 : displs[r - 1] + counts[r - 1];
  }
  mine.resize(static_cast<size_t>(counts[rank]));
  MPI_Reduce_scatter(x, mine.data(), counts.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  std::memcpy(x + displs[rank], mine.data(), mine.size() * sizeof(float));
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x, counts.data(), displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
}
}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int reps = 21;
  double max_mib = 64, bucket_mib = 4;
  std::string mode = "blocking";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-mib")) max_mib = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--bucket-mib")) bucket_mib = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
  }
  if (mode != "blocking" && mode != "polled" && mode != "rsag") {
    if (rank == 0) std::fprintf(stderr, "bench_allreduce: --mode: expected blocking, polled or rsag, got '%s'\n", mode.c_str());
    MPI_Finalize();
    return 2;
  }
  bucket_mib = std::max(bucket_mib, 1.0 / 1048576);
  const size_t bucket = std::max<size_t>(1, static_cast<size_t>(bucket_mib * 1048576 / sizeof(float)));
  std::vector<float> scratch(static_cast<size_t>(max_mib * 1048576 / sizeof(float)) + 1);  // rsag's
  auto reduce = [&](float* x, size_t n) {
    if (mode == "polled") polled(x, n, bucket);
    else if (mode == "rsag") rsag(x, n, rank, size, scratch);
    else MPI_Allreduce(MPI_IN_PLACE, x, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
  if (rank == 0)
    std::printf("ranks %d, %s\n%12s %12s %12s %14s\n", size, mode.c_str(), "bytes", "median_us", "min_us", "bus_GB_per_s");
  for (size_t bytes = 4096; bytes <= static_cast<size_t>(max_mib * 1048576); bytes *= 4) {
    const size_t n = bytes / sizeof(float);
    std::vector<float> x(n);
    // Check: rank r contributes r + 1 everywhere, so every element must be N(N+1)/2.
    std::fill(x.begin(), x.end(), static_cast<float>(rank + 1));
    reduce(x.data(), n);
    for (float v : x)
      if (v != size * (size + 1) / 2.0f) {
        std::fprintf(stderr, "rank %d: wrong sum %g\n", rank, v);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double a = MPI_Wtime();
      reduce(x.data(), n);
      double d = MPI_Wtime() - a;
      MPI_Allreduce(MPI_IN_PLACE, &d, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);  // the slowest rank's time
      t.push_back(d);
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    if (rank == 0)
      std::printf("%12zu %12.1f %12.1f %14.3f\n", bytes, med * 1e6, t[0] * 1e6,
                  2.0 * (size - 1) / size * static_cast<double>(bytes) / med / 1e9);
  }
  MPI_Finalize();
  return 0;
}
