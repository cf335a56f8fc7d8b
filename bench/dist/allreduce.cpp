// Loopback allreduce time: MPI_Allreduce(SUM) of float32 buffers from 4 KiB to 64 MiB between the
// ranks of `mpirun -np N` on one machine, the operation the training driver runs once per step
// (train/dist.h). Checks the sum, then prints per size the median of --reps timed calls (each after
// a barrier) and the ring model's bus bandwidth 2·(N−1)/N · bytes / time. docs/distributed.md.
//   mpirun -np 2 --bind-to none build/bench/dist/bench_allreduce [--reps 21] [--max-mib 64]
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int reps = 21;
  double max_mib = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-mib")) max_mib = std::atof(argv[i + 1]);
  }
  if (rank == 0) std::printf("ranks %d\n%12s %12s %12s %14s\n", size, "bytes", "median_us", "min_us", "bus_GB_per_s");
  for (size_t bytes = 4096; bytes <= static_cast<size_t>(max_mib * 1048576); bytes *= 4) {
    const size_t n = bytes / sizeof(float);
    std::vector<float> x(n);
    // Check: rank r contributes r + 1 everywhere, so every element must be N(N+1)/2.
    std::fill(x.begin(), x.end(), static_cast<float>(rank + 1));
    MPI_Allreduce(MPI_IN_PLACE, x.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (float v : x)
      if (v != size * (size + 1) / 2.0f) {
        std::fprintf(stderr, "rank %d: wrong sum %g\n", rank, v);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double a = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, x.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
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
