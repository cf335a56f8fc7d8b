// Thread-count control (include/recurrent/core/threads.h): RECURRENT_NUM_THREADS is validated
// (errors name the variable and quote the value), set_num_threads reaches OpenMP, and a bad count
// is an error. The CLI side (--threads overriding the variable) is in tests/cli/test_cli.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"

using namespace recurrent;

namespace {

// Sets RECURRENT_NUM_THREADS for one scope and restores the previous value.
class EnvVar {
 public:
  explicit EnvVar(const char* value) {
    if (const char* old = std::getenv(kName)) old_ = old;
    if (value) ::setenv(kName, value, 1);
    else ::unsetenv(kName);
  }
  ~EnvVar() {
    if (old_) ::setenv(kName, old_->c_str(), 1);
    else ::unsetenv(kName);
  }

 private:
  static constexpr const char* kName = "RECURRENT_NUM_THREADS";
  std::optional<std::string> old_;
};

TEST(Threads, EnvironmentVariableIsParsedStrictly) {
  {
    EnvVar v(nullptr);
    EXPECT_EQ(threads_from_env(), 0) << "unset";
  }
  {
    EnvVar v("");
    EXPECT_EQ(threads_from_env(), 0) << "empty counts as unset";
  }
  for (const char* ok : {"1", "3", "1024"}) {
    EnvVar v(ok);
    EXPECT_EQ(threads_from_env(), std::stoi(ok));
  }
  for (const char* bad : {"0", "-2", "abc", "3x", "2.5", "1025", "99999999999999999999", " "}) {
    EnvVar v(bad);
    try {
      threads_from_env();
      ADD_FAILURE() << "accepted RECURRENT_NUM_THREADS='" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), "RECURRENT_NUM_THREADS");
      EXPECT_EQ(e.message(), std::string("expected a positive integer, got '") + bad + "'");
    }
  }
}

TEST(Threads, SetNumThreadsReachesOpenMP) {
  const int before = num_threads();
  set_num_threads(2);
  EXPECT_EQ(num_threads(), 2);
  EXPECT_EQ(omp_get_max_threads(), 2);
  int seen = 0;
#pragma omp parallel
  {
#pragma omp single
    seen = omp_get_num_threads();
  }
  EXPECT_EQ(seen, 2);
  set_num_threads(1);
  EXPECT_EQ(omp_get_max_threads(), 1);
  EXPECT_THROW(set_num_threads(0), Error);
  EXPECT_THROW(set_num_threads(-3), Error);
  EXPECT_EQ(num_threads(), 1) << "a rejected count changes nothing";
  set_num_threads(before);
}

}  // namespace
