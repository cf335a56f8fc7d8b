// Parameterising a test over every SIMD target this CPU runs (recurrent/kernels/target.h), so that a
// machine with AVX-512 also proves the AVX2, SSE4 and SSSE3 kernels:
//   INSTANTIATE_TEST_SUITE_P(Targets, MySuite, ::testing::ValuesIn(simd::cpu_targets()), TargetName());
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "recurrent/kernels/target.h"

namespace recurrent::testing {

struct TargetName {
  std::string operator()(const ::testing::TestParamInfo<int64_t>& info) const {
    return simd::target_name(info.param);
  }
};

// Sets the process default target for the scope (restores the previous one after).
class ScopedTarget {
 public:
  explicit ScopedTarget(int64_t target) : saved_(simd::default_target()) { simd::set_default_target(target); }
  ~ScopedTarget() { simd::set_default_target(saved_); }
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;

 private:
  int64_t saved_;
};

}  // namespace recurrent::testing
