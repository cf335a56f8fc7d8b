// recurrent/core/threads.h — thread-count control for the whole library (OpenMP, shared with oneDNN).
//
// Default: the environment variable RECURRENT_NUM_THREADS if set, else all cores. The CLI's
// --threads overrides both. Results are deterministic for a given seed *and* thread count.
#pragma once

namespace recurrent {

int num_threads();
void set_num_threads(int n);      // n >= 1
int threads_from_env();           // RECURRENT_NUM_THREADS, or 0 when unset; throws on a bad value

}  // namespace recurrent
