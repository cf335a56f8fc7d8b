// recurrent/core/float_env.h — denormal (subnormal) floats flushed to zero, for the whole engine.
//
// Why: a float below 2^-126 (~1.2e-38; a double below 2^-1022) takes a microcode assist on x86 — 10–100×
// the time of a normal multiply — in our kernels and in oneDNN's. Training meets them where a gate saturates: a peephole LSTM
// whose cell state has grown gives sigmoid(pre-activation < −87), a denormal, and its gradient fills the
// weight-gradient products with them (measured: the Moby Dick char LM with lstm_peephole fell from 24k to
// 2.3k tok/s over the first hundred steps; with flushing it keeps the plain LSTM's speed). TensorFlow
// flushes in its thread pools; PyTorch offers torch.set_flush_denormal. Flushing changes only values
// below 2^-126, which are 0 to any tolerance the tests or a loss can see.
//
// set_flush_denormal(on): FTZ + DAZ on x86 (MXCSR), FZ on aarch64 (FPCR), for the calling thread and the
// OpenMP team it starts at the current thread count (oneDNN's regions included); threads the caller
// starts later inherit the mode (Linux copies the floating-point control state into a new thread).
// Not reached: another thread's own OpenMP team (libgomp keeps one per thread that starts regions), and
// pooled workers beyond the current count — call it after set_num_threads, from the thread that runs
// the engine. Returns false, changing nothing, where the CPU has no such mode. The library's default is
// the C default (off); the CLI turns it on at start, and the Python package offers
// recurrent.set_flush_denormal like torch's.
#pragma once

namespace recurrent {

bool set_flush_denormal(bool on);  // false: not supported here (nothing changed)
bool flush_denormal();             // the calling thread's mode

}  // namespace recurrent
