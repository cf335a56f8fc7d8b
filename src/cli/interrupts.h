// Ctrl-C on a thread of its own. The CLI blocks SIGINT in every thread (before any is created) and a
// watcher thread takes it with sigwait, so the signal never lands on a thread in the middle of the
// engine's work. A SIGINT delivered to a compute thread — interrupting a futex or GEMM mid-step — was
// seen to corrupt the heap (glibc abort in oneDNN's sgemm during the step after the signal, ~1 in 4
// Ctrl-Cs in the first second of `train lm`). The watcher asks a training loop to stop
// (train::request_interrupt) when one has armed the handler, and otherwise — or on a second Ctrl-C —
// exits at once with status 130, as the default action would.
// SIGTERM goes to the same watcher: by default it exits at once with status 143 (the default
// action's status); a command that can stop gracefully (serve) installs on_terminate, which the
// watcher then calls for the first SIGTERM or SIGINT (a second one exits at once).
#pragma once

#include <functional>

namespace recurrent::cli {

void route_sigint_to_watcher();  // first thing in main(), before any thread exists
void on_terminate(std::function<void()> stop);  // called on the watcher thread

}  // namespace recurrent::cli
