// recurrent/core/threads.h — thread-count control for the whole library (OpenMP, shared with oneDNN).
//
// Default: all cores. The library reads no environment; the CLI sets the count from --threads, else
// from RECURRENT_NUM_THREADS (src/cli/engine_env.h). Results are deterministic for a given seed *and*
// thread count.
#pragma once

namespace recurrent {

int num_threads();
void set_num_threads(int n);      // n >= 1

}  // namespace recurrent
