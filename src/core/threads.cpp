#include "recurrent/core/threads.h"

#include <omp.h>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
int configured = 0;  // 0: not yet set

int initial() { return omp_get_num_procs(); }
}  // namespace

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
