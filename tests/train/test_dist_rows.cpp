// train/dist.h with row-sparse gradients (autograd/var.h: Node::grad_rows) and packed buckets, against
// the stand-in collective (dist_test_util.h): the rows sent come from the embedding's recorded support,
// the sum leaves the union as the support, a rank without work ends with zeros outside it, small
// gradients travel packed after the large ones, and the sharded norm splits a run of rows between ranks.
#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/train/dist.h"
#include "train/dist_test_util.h"

using namespace recurrent;
using namespace recurrent::train;
using recurrent::testing::TwoRanks;

namespace {

constexpr int64_t kRowsR = kSparseMinRows, kRowsC = 3;

// backward of sum(embedding(w, idx) · 1): each looked-up row gets +1 per look-up (the support: idx).
void embed_backward(Var& w, const std::vector<int64_t>& idx) {
  sum(embedding(w, idx, {static_cast<int64_t>(idx.size())})).backward();
}

std::vector<int64_t> rows_of(Var& w) {
  const std::vector<int64_t>* r = grad_row_support(*w.node());
  return r ? *r : std::vector<int64_t>{-1};
}

}  // namespace

// This rank looked up rows 4 and 9 (9 twice); the peer marks 9 and 2000. The head's mask for e comes
// from the support, the floats sent are the union's rows (2 · 3 of e, then the small vector b), and
// afterwards e's support is the union, sorted.
TEST(DistRows, TheSupportGivesTheRowsSentAndBecomesTheUnion) {
  recurrent::testing::RestoreCollective restore;
  auto c = std::make_shared<TwoRanks>();
  Var e(Tensor::zeros({kRowsR, kRowsC}), true), b(Tensor::zeros({2}), true);
  embed_backward(e, {9, 4, 9});
  b.grad().copy_(Tensor::from({1, 2}, {2}));
  c->peer_head = {0.0, 1.0, 1.0, 1.0};  // w·L, w, has_grad(e), has_grad(b), then e's row mask
  c->peer_head.resize(4 + static_cast<size_t>(kRowsR), 0.0);
  c->peer_head[4 + 9] = c->peer_head[4 + 2000] = 1.0;
  for (int64_t r : {4, 9, 2000})
    for (int64_t k = 0; k < kRowsC; ++k) c->peer_grads.push_back(r == 4 ? 0.0f : 10.0f);
  c->peer_grads.push_back(0.5f), c->peer_grads.push_back(0.5f);
  set_collective(c);
  reduce_gradients({{"e", e}, {"b", b}}, 0.0, 1.0, 1, /*scaled=*/true);
  EXPECT_EQ(c->float_at, 3 * kRowsC + 2u);
  EXPECT_EQ(rows_of(e), (std::vector<int64_t>{4, 9, 2000}));
  const std::vector<float> g = e.node()->grad.to_vector();
  EXPECT_EQ(g[4 * kRowsC], 1.0f);
  EXPECT_EQ(g[9 * kRowsC], 12.0f);  // 2 look-ups here + the peer's 10
  EXPECT_EQ(g[2000 * kRowsC], 10.0f);
  double total = 0;
  for (float v : g) total += v;
  EXPECT_EQ(total, 3 * (1.0 + 12.0 + 10.0)) << "no other row may hold anything";
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{1.5f, 2.5f}));
}

// A rank without work (weight 0) whose stale gradient still holds last step's values: it receives
// the peer's rows and zeros everywhere else, with the peer's rows as its support.
TEST(DistRows, ARankWithoutWorkEndsWithThePeersRowsOnly) {
  recurrent::testing::RestoreCollective restore;
  auto c = std::make_shared<TwoRanks>();
  Var e(Tensor::zeros({kRowsR, kRowsC}), true);
  embed_backward(e, {7, 8});  // not zeroed: stale
  c->peer_head = {3.0, 1.0, 1.0};
  c->peer_head.resize(3 + static_cast<size_t>(kRowsR), 0.0);
  c->peer_head[3 + 100] = 1.0;
  c->peer_grads.assign(kRowsC, 5.0f);
  set_collective(c);
  EXPECT_DOUBLE_EQ(reduce_gradients({{"e", e}}, 0.0, 0.0, 1, /*scaled=*/true), 3.0);
  EXPECT_EQ(rows_of(e), std::vector<int64_t>{100});
  const std::vector<float> g = e.node()->grad.to_vector();
  for (int64_t i = 0; i < kRowsR * kRowsC; ++i)
    ASSERT_EQ(g[static_cast<size_t>(i)], i / kRowsC == 100 ? 5.0f : 0.0f) << "element " << i;
}

// The buckets: a large gradient (≥ 64 Ki floats) is summed where it lies, first, although it comes
// second; then the packed buffer holds the small ones in parameter order.
TEST(DistRows, LargeGradientsGoFirstThenThePackedSmallOnes) {
  recurrent::testing::RestoreCollective restore;
  auto c = std::make_shared<TwoRanks>();
  const int64_t big = int64_t{1} << 16;
  Var a(Tensor::zeros({2}), true), w(Tensor::zeros({big}), true), z(Tensor::zeros({3}), true);
  a.grad().fill_(1.0f), w.grad().fill_(1.0f), z.grad().fill_(1.0f);
  c->peer_head = {0.0, 1.0, 1.0, 1.0, 1.0};
  c->peer_grads.assign(static_cast<size_t>(big), 2.0f);              // w
  for (float v : {3.0f, 3.0f, 4.0f, 4.0f, 4.0f}) c->peer_grads.push_back(v);  // a, then z
  set_collective(c);
  reduce_gradients({{"a", a}, {"w", w}, {"z", z}}, 0.0, 1.0, 1, /*scaled=*/true);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{4, 4}));
  EXPECT_EQ(z.grad().to_vector(), (std::vector<float>{5, 5, 5}));
  for (float v : w.grad().to_vector()) ASSERT_EQ(v, 3.0f);
}

// The norm over a support of rows {1, 2, 5} (3 runs' worth of 9 floats): rank 0 squares the first 5 of
// them, rank 1 the last 4 — the boundary falls inside the run of rows 1–2.
TEST(DistRows, TheShardedNormSplitsTheSupportedRowsBetweenRanks) {
  recurrent::testing::RestoreCollective restore;
  Var e(Tensor::zeros({kRowsR, kRowsC}), true);
  float* g = grad_buffer_rows(*e.node(), {5, 1, 2});
  for (int64_t r : {1, 2, 5})
    for (int64_t k = 0; k < kRowsC; ++k) g[r * kRowsC + k] = static_cast<float>(r * 10 + k);
  // the supported floats in order: 10 11 12 20 21 | 22 50 51 52
  const double first = 100 + 121 + 144 + 400 + 441, last = 484 + 2500 + 2601 + 2704;
  for (int me : {0, 1}) {
    auto c = std::make_shared<TwoRanks>();
    c->me = me;
    c->peer_head = {0.0, 0.0};
    c->peer_head[static_cast<size_t>(1 - me)] = me == 0 ? last : first;
    set_collective(c);
    EXPECT_DOUBLE_EQ(global_grad_norm({{"e", e}}, 1), std::sqrt(first + last)) << "rank " << me;
  }
  set_collective(nullptr);
  EXPECT_DOUBLE_EQ(global_grad_norm({{"e", e}}, 1), std::sqrt(first + last)) << "one process";
  EXPECT_EQ(rows_of(e), (std::vector<int64_t>{1, 2, 5})) << "reading the norm keeps the support";
}
