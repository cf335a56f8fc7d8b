// Ctrl-C (and SIGTERM, SIGHUP) on a thread of its own. The CLI blocks SIGINT, SIGTERM and SIGHUP in
// every thread (before any is created) and a watcher thread takes them with sigwait, so the signal never lands on a thread in the middle of the
// engine's work. A SIGINT delivered to a compute thread — interrupting a futex or GEMM mid-step — was
// seen to corrupt the heap (glibc abort in oneDNN's sgemm during the step after the signal, ~1 in 4
// Ctrl-Cs in the first second of `train lm`). The watcher asks a training loop to stop
// (train::request_interrupt) when one has armed the handler — so a training run saves its checkpoint on
// any of the three, as on Ctrl-C — and otherwise, or on a second signal, exits at once with status
// 128 + the signal, as a shell reports the default action.
// A command that can stop gracefully (serve) installs on_terminate, which the watcher then calls for
// the first SIGINT, SIGTERM or SIGHUP (a second one exits at once).
#pragma once

#include <functional>

namespace recurrent::cli {

void route_sigint_to_watcher();  // first thing in main(), before any thread exists
void on_terminate(std::function<void()> stop);  // called on the watcher thread

}  // namespace recurrent::cli
