// train/dist.h without MPI: the shards of a global batch, and reduce_gradients against a stand-in
// collective that plays the other ranks (their contributions are fixed numbers added in allreduce).
#include <gtest/gtest.h>

#include <memory>

#include "recurrent/core/error.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/loop.h"
#include "train/dist_test_util.h"

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

using recurrent::testing::TwoRanks;
using Restore = recurrent::testing::RestoreCollective;

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

// The same step with backward seeded by the share (what train_step does): global_share gives 3/4, the
// gradients arrive as (3/4)·g and are summed as they are.
TEST(Dist, APreScaledGradientIsSummedAsItIs) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  set_collective(c);
  c->peer_head = {1.0};  // the peer's weight
  const double share = global_share(3.0, 1);
  EXPECT_DOUBLE_EQ(share, 0.75);
  Var p(Tensor::from({1, 2, 3}, {3}), true);
  p.grad().copy_(Tensor::from({0.75f * 4, 0.75f * -8, 0.75f * 2}, {3}));
  c->peer_head = {1 * 6.0, 1.0, 1.0};
  c->peer_grads = {0.25f * 8, 0.25f * 0, 0.25f * -4};
  EXPECT_DOUBLE_EQ(reduce_gradients({{"p", p}}, 2.0, 3.0, 1, /*scaled=*/true), 3.0);
  EXPECT_EQ(p.grad().to_vector(), (std::vector<float>{(3 * 4 + 8) / 4.0f, (3 * -8 + 0) / 4.0f, (3 * 2 - 4) / 4.0f}));
  c->peer_head = {2.0};
  EXPECT_DOUBLE_EQ(global_share(0.0, 2), 0.0) << "no work here, the peer's: share 0";
  c->peer_head = {0.0};
  EXPECT_THROW(global_share(0.0, 3), Error) << "no rank has work";
  set_collective(nullptr);
  EXPECT_DOUBLE_EQ(global_share(5.0, 4), 1.0) << "one process";
}

// The norm from the shards: rank 0 of 2 squares the first ⌈n/2⌉ elements of each gradient (3, 4 of p;
// q has no gradient), the peer the rest (12² = 144), gathered in their slots and added in rank order.
TEST(Dist, TheGradientNormIsSummedFromEachRanksShard) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  set_collective(c);
  Var p(Tensor::from({0, 0, 0}, {3}), true), q(Tensor::from({0, 0}, {2}), true);
  p.grad().copy_(Tensor::from({3, 4, 12}, {3}));
  c->peer_head = {0.0, 144.0};  // slot 0 is rank 0's: the peer leaves it 0
  EXPECT_DOUBLE_EQ(global_grad_norm({{"p", p}, {"q", q}}, 1), 13.0);
  set_collective(nullptr);
  EXPECT_DOUBLE_EQ(global_grad_norm({{"p", p}, {"q", q}}, 2), 13.0) << "one process: every element";
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

namespace {
// A [kSparseMinRows, 3] matrix whose rows `rows` hold `base + row` (+ k per column), the others zero.
Tensor sparse_rows(const std::vector<int64_t>& rows, float base) {
  Tensor t = Tensor::zeros({kSparseMinRows, 3});
  for (int64_t r : rows)
    for (int64_t k = 0; k < 3; ++k) t.data()[r * 3 + k] = base + static_cast<float>(r) + 0.25f * static_cast<float>(k);
  return t;
}
}  // namespace

// An embedding-sized gradient sends only the rows some rank has non-zero (here 3 of 2048: rows 5 and
// 700 here, 700 and 2000 on the peer, a −0 in row 9 counts as non-zero), and the result is bitwise the
// dense reduction's: (1/2)·g + the peer's share in every row. A second one that this rank has no
// gradient for receives the peer's row; a small vector after them goes dense, in order.
TEST(Dist, RowSparseGradientsSendTheUnionOfNonZeroRowsExactly) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  const int64_t R = kSparseMinRows;
  Var e(Tensor::zeros({R, 3}), true), f(Tensor::zeros({R, 3}), true), q(Tensor::from({0, 0}, {2}), true);
  const Tensor mine = sparse_rows({5, 700}, 1.0f);
  e.grad().copy_(mine);
  e.grad().data()[9 * 3 + 1] = -0.0f;
  q.grad().copy_(Tensor::from({1, 2}, {2}));
  const Tensor peer_e = sparse_rows({700, 2000}, -3.5f), peer_f = sparse_rows({3}, 7.0f);
  c->peer_head = {1 * 4.0, 1.0, 1.0, 1.0, 1.0};  // w·L, w, has_grad(e, f, q), then the masks of e and f
  c->peer_head.resize(5 + 2 * static_cast<size_t>(R), 0.0);
  c->peer_head[5 + 700] = c->peer_head[5 + 2000] = 1.0;
  c->peer_head[5 + static_cast<size_t>(R) + 3] = 1.0;
  // the peer's shares (weight 1 of 2) in the order sent: e's rows 5, 9, 700, 2000; f's row 3; q
  for (int64_t r : {5, 9, 700, 2000})
    for (int64_t k = 0; k < 3; ++k) c->peer_grads.push_back(0.5f * peer_e.data()[r * 3 + k]);
  for (int64_t k = 0; k < 3; ++k) c->peer_grads.push_back(0.5f * peer_f.data()[3 * 3 + k]);
  c->peer_grads.push_back(0.5f * 3), c->peer_grads.push_back(0.5f * 4);
  set_collective(c);
  EXPECT_DOUBLE_EQ(reduce_gradients({{"e", e}, {"f", f}, {"q", q}}, 2.0, 1.0, 1), 3.0);
  EXPECT_EQ(c->float_at, 4 * 3 + 3 + 2u);  // not 2 · 2048 · 3 + 2
  const std::vector<float> ge = e.grad().to_vector(), gf = f.grad().to_vector();
  Tensor mine_neg = mine.clone();
  mine_neg.data()[9 * 3 + 1] = -0.0f;
  for (int64_t i = 0; i < R * 3; ++i) {
    ASSERT_EQ(ge[static_cast<size_t>(i)], 0.5f * mine_neg.data()[i] + 0.5f * peer_e.data()[i]) << "e, element " << i;
    ASSERT_EQ(gf[static_cast<size_t>(i)], 0.5f * peer_f.data()[i]) << "f, element " << i;
  }
  EXPECT_EQ(q.grad().to_vector(), (std::vector<float>{0.5f * 1 + 1.5f, 0.5f * 2 + 2.0f}));
  EXPECT_GT(reduce_stats().bytes_per_step, 0.0);
  EXPECT_LE(reduce_stats().head_seconds, reduce_stats().seconds);  // a part of the step's allreduce time
  EXPECT_NE(reduce_summary().find("waiting for the slowest rank"), std::string::npos) << reduce_summary();
}

// When more than half the rows are non-zero somewhere the whole matrix is summed, as for any parameter.
TEST(Dist, MostlyDenseLargeGradientsGoDense) {
  Restore restore;
  auto c = std::make_shared<TwoRanks>();
  const int64_t R = kSparseMinRows;
  Var e(Tensor::zeros({R, 3}), true);
  e.grad().fill_(1.0f);
  c->peer_head = {1.0, 1.0, 1.0};
  c->peer_head.resize(3 + static_cast<size_t>(R), 1.0);
  c->peer_grads.assign(static_cast<size_t>(R * 3), 0.25f);
  set_collective(c);
  reduce_gradients({{"e", e}}, 1.0, 1.0, 1);
  EXPECT_EQ(c->float_at, static_cast<size_t>(R * 3));
  for (float v : e.grad().to_vector()) ASSERT_EQ(v, 0.75f);
}

// lstm_bn's batch statistics are each rank's own: under mpirun (here 2 ranks) a model with buffers is refused with
// one line naming mpirun; a plain model passes, and one process takes either.
TEST(Dist, ModelsWithBatchStatisticsAreRefusedAcrossRanks) {
  Restore restore;
  Rng rng(1);
  RNN bn(RNNOptions::uniform(CellType::lstm_bn, 3, 4, 1), rng), plain(RNNOptions::uniform(CellType::lstm, 3, 4, 1), rng);
  EXPECT_NO_THROW(refuse_unsynced_buffers(bn));
  set_collective(std::make_shared<TwoRanks>());
  EXPECT_NO_THROW(refuse_unsynced_buffers(plain));
  try {
    refuse_unsynced_buffers(bn);
    ADD_FAILURE() << "lstm_bn passed on 2 ranks";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("mpirun"), std::string::npos) << m;
    EXPECT_NE(m.find("lstm_bn"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}
