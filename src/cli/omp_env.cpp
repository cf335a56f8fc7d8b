// The OpenMP wait policy of the `recurrent` command (see omp_env.h).
#include "cli/omp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace recurrent::cli {

void bound_openmp_spin(char** argv) {
#ifdef __linux__
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // the user chose
  if (setenv("GOMP_SPINCOUNT", "10000", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with libgomp's default
#else
  (void)argv;
#endif
}

}  // namespace recurrent::cli
