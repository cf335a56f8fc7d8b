// train/dist.h without MPI: the shards of a global batch, and reduce_gradients against a stand-in
// collective that plays the other ranks (their contributions are fixed numbers added in allreduce).
#include <gtest/gtest.h>

#include <memory>

#include "recurrent/core/error.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/loop.h"

using namespace recurrent;
using namespace recurrent::train;

TEST(Dist, ShardsCoverTheBatchInOrderFirstOnesLonger) {
  for (int n : {1, 2, 3, 8}) {
    for (int64_t b : {0, 1, 7, 8, 9, 64}) {
      int64_t next = 0;
      for (int r = 0; r < n; ++r) {
        const Shard s = shard(b, r, n);
        EXPECT_EQ(s.begin, next) << b << " over " << n;
        EXPECT_TRUE(s.count() == b / n || s.count() == b / n + 1) << b << " over " << n;
        EXPECT_GE(s.count(), shard(b, n - 1, n).count());
        next = s.end;
      }
      EXPECT_EQ(next, b);
    }
  }
  EXPECT_THROW(shard(4, 2, 2), Error);
}

namespace {
// Rank 0 of 2; the other rank's sums are `peer_*` (floats: its weighted gradient, doubles: its head).
struct TwoRanks final : Collective {
  std::vector<double> peer_head;
  std::vector<float> peer_grads;
  size_t float_at = 0;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void allreduce_sum(double* x, size_t n, const std::string&) override {
    ASSERT_EQ(n, peer_head.size());
    for (size_t i = 0; i < n; ++i) x[i] += peer_head[i];
  }
  void allreduce_sum(float* x, size_t n, const std::string&) override {
    for (size_t i = 0; i < n; ++i) x[i] += peer_grads[float_at + i];
    float_at += n;
  }
};
struct Restore {
  ~Restore() { set_collective(nullptr); }
};
}  // namespace

// Rank 0 has 3 units with loss 2 and gradient g; the peer 1 unit with loss 6 and gradient h (it sends
// (1/4)·h as its share). The global mean: loss (3·2 + 1·6)/4 = 3, gradient (3g + h)/4.
TEST(Dist, ReduceGradientsGivesTheGlobalBatchMean) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  Var p(Tensor::from({1, 2, 3}, {3}), true), q(Tensor::from({0, 0}, {2}), true);
  p.grad().copy_(Tensor::from({4, -8, 2}, {3}));  // q: no gradient on this rank, one on the peer
  c->peer_head = {1 * 6.0, 1.0, 1.0, 1.0};        // w·L, w, has_grad(p), has_grad(q)
  c->peer_grads = {0.25f * 8, 0.25f * 0, 0.25f * -4, 0.25f * 1, 0.25f * 2};
  set_collective(c);
  const double loss = reduce_gradients({{"p", p}, {"q", q}}, 2.0, 3.0, 1);
  EXPECT_DOUBLE_EQ(loss, 3.0);
  const std::vector<float> gp = p.grad().to_vector(), gq = q.grad().to_vector();
  EXPECT_FLOAT_EQ(gp[0], (3 * 4 + 8) / 4.0f);
  EXPECT_FLOAT_EQ(gp[1], (3 * -8 + 0) / 4.0f);
  EXPECT_FLOAT_EQ(gp[2], (3 * 2 - 4) / 4.0f);
  EXPECT_FLOAT_EQ(gq[0], 1 / 4.0f);
  EXPECT_FLOAT_EQ(gq[1], 2 / 4.0f);
  EXPECT_EQ(c->float_at, 5u);
}

// An empty shard (weight 0) contributes nothing; the step is the peer's.
TEST(Dist, AnEmptyShardAddsNothing) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  Var p(Tensor::from({1, 2}, {2}), true);
  c->peer_head = {2 * 5.0, 2.0, 1.0};
  c->peer_grads = {1.0f, -1.0f};  // its share: weight 2 of 2
  set_collective(c);
  EXPECT_DOUBLE_EQ(reduce_gradients({{"p", p}}, 0.0, 0.0, 1), 5.0);
  EXPECT_EQ(p.grad().to_vector(), (std::vector<float>{1.0f, -1.0f}));
}

TEST(Dist, OneProcessLeavesEverythingAlone) {
  Var p(Tensor::from({1, 2}, {2}), true);
  p.grad().copy_(Tensor::from({3, 4}, {2}));
  EXPECT_EQ(world_size(), 1);
  EXPECT_TRUE(is_writer());
  EXPECT_DOUBLE_EQ(reduce_gradients({{"p", p}}, 1.5, 7.0, 1), 1.5);
  EXPECT_EQ(p.grad().to_vector(), (std::vector<float>{3, 4}));
  const Tensor t = Tensor::from({1, 2, 3, 4}, {1, 2, 2});
  EXPECT_EQ(gather_shards(t, 1, shard(2, 0, 1), 2, "state").to_vector(), t.to_vector());
  EXPECT_EQ(shard_of(t, 1, {1, 2}).to_vector(), (std::vector<float>{3, 4}));
}

// A stop requested on another rank stops this one too, as an interrupt when it was one.
TEST(Dist, AStopOnAnyRankStopsAll) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  set_collective(c);
  clear_interrupt();
  c->peer_head = {0.0, 1.0};  // the peer's time budget is spent
  EXPECT_TRUE(stop_requested(false));
  EXPECT_FALSE(interrupted());
  c->peer_head = {1.0, 0.0};  // the peer was interrupted
  EXPECT_TRUE(stop_requested(false));
  EXPECT_TRUE(interrupted());
  clear_interrupt();
  c->peer_head = {0.0, 0.0};
  EXPECT_FALSE(stop_requested(false));
}
