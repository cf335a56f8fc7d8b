#include "recurrent/core/threads.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
int configured = 0;  // 0: not yet set

int initial() {
  int env = threads_from_env();
  return env > 0 ? env : omp_get_num_procs();
}
}  // namespace

int threads_from_env() {
  const char* v = std::getenv("RECURRENT_NUM_THREADS");
  if (!v || !*v) return 0;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  RC_CHECK(end && *end == '\0' && n >= 1 && n <= 1024, "RECURRENT_NUM_THREADS",
           "expected a positive integer, got '", v, "'");
  return static_cast<int>(n);
}

int num_threads() {
  if (configured == 0) set_num_threads(initial());
  return configured;
}

void set_num_threads(int n) {
  RC_CHECK(n >= 1, "--threads", "expected a positive thread count, got ", n);
  configured = n;
  omp_set_num_threads(n);
}

}  // namespace recurrent
