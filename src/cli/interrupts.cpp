// Ctrl-C on a watcher thread (contract in cli/interrupts.h).
#include "cli/interrupts.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "recurrent/train/loop.h"

namespace recurrent::cli {

void route_sigint_to_watcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;  // then the plain handler stays in charge
  std::thread([set] {
    for (bool asked = false;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (!asked && train::interrupt_armed()) {
        asked = true;
        train::request_interrupt();
        continue;
      }
      std::fflush(nullptr);
      _exit(128 + SIGINT);
    }
  }).detach();
}

}  // namespace recurrent::cli
