// libgomp reads its wait policy once, when the process starts. Its default spins through every
// barrier for up to GOMP_SPINCOUNT = 300,000 `pause`s (milliseconds) before sleeping; when other
// processes occupy the cores, a thread that waits for a descheduled partner burns the CPU share that
// partner needs, at every OpenMP region (oneDNN's GEMMs, our parallel loops). Measured (char LM,
// 2×256 LSTM, 2 threads, machine at load 15): 1.7k chars/s with the default, 4.0k with
// GOMP_SPINCOUNT=10000, 3.7k on 1 thread. So unless the user chose (OMP_WAIT_POLICY or GOMP_SPINCOUNT
// set), the command re-executes itself once with GOMP_SPINCOUNT=10000 (~0.1 ms of spinning, then
// sleep). The fused RNN loops have their own barrier (src/nn/rnn_team.h).
#pragma once

namespace recurrent::cli {

// Call first in main(); may not return (execv of /proc/self/exe with the same argv).
void bound_openmp_spin(char** argv);

}  // namespace recurrent::cli
