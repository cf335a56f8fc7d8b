// A fresh, empty folder for one test's files. The test executables are unity builds
// (tests/CMakeLists.txt): helpers shared by several files live in headers like this one, not as
// same-named copies in each file's anonymous namespace.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace recurrent::testing {

// <system temp>/recurrent-<name>-<pid>, emptied and created: unique to this process (ctest runs each
// test case in a process of its own).
inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("recurrent-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace recurrent::testing
