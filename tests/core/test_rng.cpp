#include <gtest/gtest.h>

#include <cmath>

#include "recurrent/core/rng.h"

using namespace recurrent;

TEST(Rng, PhiloxKnownAnswer) {
  // Known-answer vectors from Random123 (kat_vectors, philox4x32_10).
  auto z = Rng::philox({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(z[0], 0x6627e8d5u);
  EXPECT_EQ(z[1], 0xe169c58du);
  EXPECT_EQ(z[2], 0xbc57ac4cu);
  EXPECT_EQ(z[3], 0x9b00dbd8u);
  auto p = Rng::philox({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  EXPECT_EQ(p[0], 0xd16cfe09u);
  EXPECT_EQ(p[1], 0x94fdccebu);
  EXPECT_EQ(p[2], 0x5001e420u);
  EXPECT_EQ(p[3], 0x24126ea1u);
  auto f = Rng::philox({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u});
  EXPECT_EQ(f[0], 0x408f276du);
  EXPECT_EQ(f[1], 0x41c83b0eu);
  EXPECT_EQ(f[2], 0xa20bc7c6u);
  EXPECT_EQ(f[3], 0x6d5451fdu);
}

TEST(Rng, SameSeedSameStreamDifferentSeedDifferent) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint32_t x = a.next_u32();
    EXPECT_EQ(x, b.next_u32());
    (void)c;
  }
  Rng d(42), e(43);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += d.next_u32() == e.next_u32();
  EXPECT_LT(same, 3);
}

TEST(Rng, FillUniformDrawsWhatUniformDraws) {
  // Bitwise the numbers of uniform(lo, hi) one at a time, from any counter (not only a block's first
  // word), and the state left where they leave it.
  for (uint64_t skip : {0, 1, 2, 3, 5}) {
    for (int64_t n : {1, 3, 4, 7, 1001}) {
      Rng a(42, 7), b(42, 7);
      for (uint64_t k = 0; k < skip; ++k) a.next_u32(), b.next_u32();
      Tensor t = Tensor::zeros({n});
      a.fill_uniform(t, -0.25f, 0.5f);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(t.data()[i], b.uniform(-0.25f, 0.5f)) << skip << " " << n << " " << i;
      EXPECT_EQ(a.state().counter, b.state().counter);
      EXPECT_EQ(a.next_u32(), b.next_u32());
    }
  }
}

TEST(Rng, StateRoundTrip) {
  Rng a(7);
  for (int i = 0; i < 13; ++i) a.uniform();
  Rng::State s = a.state();
  float x = a.normal();
  Rng b;
  b.set_state(s);
  EXPECT_EQ(x, b.normal());
}

TEST(Rng, Moments) {
  Rng r(1);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  int bern = 0;
  for (int i = 0; i < n; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    float z = r.normal();
    sn += z;
    sn2 += z * z;
    bern += r.bernoulli(0.3f);
  }
  // Standard errors: uniform mean 0.29/sqrt(n) ≈ 6.5e-4; normal mean 2.2e-3; bernoulli 1e-3. 5 sigma bounds.
  EXPECT_NEAR(su / n, 0.5, 3.5e-3);
  EXPECT_NEAR(sn / n, 0.0, 1.2e-2);
  EXPECT_NEAR(sn2 / n, 1.0, 1.6e-2);
  EXPECT_NEAR(bern / double(n), 0.3, 5.2e-3);
}

TEST(Rng, BelowIsInRangeAndCoversIt) {
  Rng r(3);
  int counts[7] = {0};
  for (int i = 0; i < 7000; ++i) {
    uint64_t k = r.below(7);
    ASSERT_LT(k, 7u);
    counts[k]++;
  }
  for (int c : counts) EXPECT_GT(c, 800);
}
