// Helpers shared by the libFuzzer harnesses (tests/fuzz/, docs/fuzzing.md).
//
// A harness feeds one input to one parser of outside input. recurrent::Error is the parser's one
// clear line for bad input and is expected; anything else escaping (another exception type, a
// crash, a sanitizer report, a leak, a timeout) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "recurrent/core/error.h"

namespace recurrent::fuzz {

// A broken invariant of what a parser accepted: a finding (printed, then abort() for libFuzzer).
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what.c_str());
  std::abort();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// For the readers that take a path (libsndfile, the IDX reader): the input written to one file in
// a private folder under $TMPDIR, rewritten for every input, removed at exit.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& name) {
    const std::filesystem::path base = std::filesystem::temp_directory_path();
    std::string templ = (base / "recurrent-fuzz-XXXXXX").string();
    if (!mkdtemp(templ.data())) std::abort();
    dir_ = templ;
    path_ = (std::filesystem::path(dir_) / name).string();
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& write(const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
    return path_;
  }

 private:
  std::string dir_, path_;
};

}  // namespace recurrent::fuzz

// Runs `body`; a recurrent::Error is the expected outcome of bad input.
#define RECURRENT_FUZZ_EXPECT_ERRORS(...) \
  try {                                   \
    __VA_ARGS__;                          \
  } catch (const ::recurrent::Error&) {   \
  }
