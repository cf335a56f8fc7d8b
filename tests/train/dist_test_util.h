// tests/train/dist_test_util.h — a stand-in collective for train/dist.h without MPI: this process is
// rank `me` of 2, and the other rank's contributions are fixed numbers added in each allreduce.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recurrent/train/dist.h"

namespace recurrent::testing {

// The other rank's sums are `peer_*` (floats: its weighted gradients in the order sent, doubles: the
// doubles of the next allreduce of doubles).
struct TwoRanks final : train::Collective {
  int me = 0;
  std::vector<double> peer_head;
  std::vector<float> peer_grads;
  size_t float_at = 0;
  int rank() const override { return me; }
  int size() const override { return 2; }
  void allreduce_sum(double* x, size_t n, const std::string&) override {
    ASSERT_EQ(n, peer_head.size());
    for (size_t i = 0; i < n; ++i) x[i] += peer_head[i];
  }
  void allreduce_sum(float* x, size_t n, const std::string&) override {
    ASSERT_LE(float_at + n, peer_grads.size());
    for (size_t i = 0; i < n; ++i) x[i] += peer_grads[float_at + i];
    float_at += n;
  }
};

// Puts the one-process collective back when a test ends.
struct RestoreCollective {
  ~RestoreCollective() { train::set_collective(nullptr); }
};

}  // namespace recurrent::testing
