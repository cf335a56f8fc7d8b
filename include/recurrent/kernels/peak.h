// recurrent/kernels/peak.h — the machine's fp32 FMA peak, measured, for "% of peak" figures.
//
// A register-only loop of independent fused multiply-adds (no memory traffic) on `threads` OpenMP
// threads; the best of a few short repetitions (noise on a shared machine only lowers a rep, so
// the best is the estimate). The widest FMA the CPU has is used whatever RECURRENT_ISA says: the
// peak is a property of the machine, not of the kernels chosen. Same method as the anchors'
// fma_peak.cpp (../shared/anchors): 16 chains cover FMA latency × ports on current x86 cores.
#pragma once

#include <string>

namespace recurrent {

struct FmaPeak {
  double gflops = 0;   // aggregate over all threads, fp32, 2 flops per FMA lane
  int threads = 0;
  std::string kind;    // "avx512 zmm fma", "avx2 ymm fma" or "sse mul+add"
};

// Measures the peak on `threads` threads (>= 1): `reps` repetitions of ~`rep_seconds` each.
FmaPeak measure_fma_peak(int threads, int reps = 5, double rep_seconds = 0.02);

}  // namespace recurrent
