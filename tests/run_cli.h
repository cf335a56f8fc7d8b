// Runs the `recurrent` binary under test (RECURRENT_BIN, set by tests/CMakeLists.txt) with a shell
// argument string and returns its exit status and combined stdout + stderr. Shared by the CLI tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace recurrent::testing {

struct CmdResult {
  int status;
  std::string out;
};

inline CmdResult run(const std::string& args) {
  std::string cmd = std::string(RECURRENT_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int st = pclose(p);
  return {WEXITSTATUS(st), out};
}

}  // namespace recurrent::testing
