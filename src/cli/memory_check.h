// Sizes that cannot fit, refused before anything is allocated (issue 27: "a bare 'out of memory' for a
// huge size").
//
// memory_limit(): what this process can hold at all — the smaller of memory + swap (/proc/meminfo), its
// cgroup's memory.max and RLIMIT_AS / RLIMIT_DATA. check_memory(): after parsing, before the command
// runs, a lower bound of what the chosen command needs from its size options (a recurrent stack's
// parameters with their gradients and optimizer state, and the activations its backward pass keeps; a
// transformer's, a reservoir's) is compared with it; above it, one line names the size options given and
// both figures:
//   out of memory: --hidden 100000000 needs at least 298 PiB (…); this machine holds 23.5 GiB (memory and swap)
// Lower bounds only (the vocabulary and the data are not read yet), so nothing that fits is refused; a
// run that passes and still runs out ends with oom_message() (the size options given, the block refused).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace recurrent::cli {

// Bytes this process can hold at most, and what bounds it ("memory and swap", "its cgroup", "ulimit -v").
struct MemoryLimit {
  double bytes = 0;
  std::string what;
};
MemoryLimit memory_limit();

// The chosen command's lower bound in bytes (0: nothing to estimate for it).
double memory_needed(const CLI::App& app);

// Throws recurrent::Error when memory_needed(app) > memory_limit(); sets the library's per-storage bound
// (core/memory.h) to the limit either way.
void check_memory(const CLI::App& app);

// The line for an allocation that failed anyway (`bytes` 0: unknown).
std::string oom_message(const CLI::App& app, double bytes);

// "23.5 GiB"
std::string fmt_bytes(double bytes);

}  // namespace recurrent::cli
