// Ctrl-C on a watcher thread (contract in cli/interrupts.h).
#include "cli/interrupts.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

#include "recurrent/train/loop.h"

namespace recurrent::cli {

namespace {
std::mutex terminate_mu;
std::function<void()> terminate_fn;  // under terminate_mu
}  // namespace

void on_terminate(std::function<void()> stop) {
  std::lock_guard<std::mutex> l(terminate_mu);
  terminate_fn = std::move(stop);
}

void route_sigint_to_watcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);  // a container stop, a batch scheduler's end of job
  sigaddset(&set, SIGHUP);   // a closed terminal or ssh session
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;  // then the plain handler stays in charge
  std::thread([set] {
    for (bool asked = false;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      std::function<void()> stop;
      {
        std::lock_guard<std::mutex> l(terminate_mu);
        stop = terminate_fn;
      }
      if (!asked && stop) {
        asked = true;
        stop();
        continue;
      }
      if (!asked && train::interrupt_armed()) {
        asked = true;
        train::request_interrupt(sig);
        continue;
      }
      std::fflush(nullptr);
      _exit(128 + sig);
    }
  }).detach();
}

}  // namespace recurrent::cli
