// The CLI's MPI (docs/distributed.md): under `mpirun -np N recurrent ...` the command initialises MPI and
// installs an MPI train::Collective (train/dist.h), so the training driver sums gradients across the N
// ranks; run any other way, nothing changes. Launch is detected from Open MPI's environment
// (OMPI_COMM_WORLD_SIZE; PMI_SIZE / PMIX_RANK for other launchers); no flag is needed.
//   * Faults: MPI's default error handler ends the job when a call fails, and mpirun ends it when a rank
//     dies (naming that rank). A collective that waits longer than RECURRENT_MPI_TIMEOUT seconds (default
//     600, at most 10^7) — a peer that hangs without dying — makes the waiting rank print a message that
//     names itself and the operation and exit with status 3 (a watchdog thread; it makes no MPI call);
//     the launcher then ends the job (mpirun does; srun needs --kill-on-bad-exit).
//   * An error on one rank: "recurrent: error: rank R of N: <message>" on stderr, then MPI_Abort ends
//     every rank.
//   * Ranks other than 0 send their stdout to /dev/null (rank 0 prints the results).
// Built without MPI (cmake found none, or -DRECURRENT_MPI=OFF) a command launched by mpirun with N > 1
// stops with an error saying so.
#pragma once

#include <string>

namespace recurrent::cli {

// Call once in main() after bound_openmp_spin. Returns the number of ranks (1: not under mpirun).
int start_mpi(int* argc, char*** argv);
// Ranks of this job on this machine (threads per rank default: cores / local ranks). 1 without MPI.
int local_ranks();
// A clean end (MPI_Finalize) with exit code `code`; returns code.
int finish_mpi(int code);
// Under MPI with N > 1: prints "recurrent: error: rank R of N: what" and aborts the job. Otherwise prints
// "recurrent: error: what" and returns `code`.
int fail(const std::string& what, int code);

}  // namespace recurrent::cli
