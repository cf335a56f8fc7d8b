// Philox4x32-10 counter-based generator. See include/recurrent/core/rng.h.
#include "recurrent/core/rng.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent {

std::array<uint32_t, 4> Rng::philox(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(M0) * c[0];
    uint64_t p1 = static_cast<uint64_t>(M1) * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
    k[0] += W0;
    k[1] += W1;
  }
  return c;
}

uint32_t Rng::next_u32() {
  // Word n of a stream is lane n%4 of the block for counter n/4 (the block is recomputed each
  // call: simple, stateless beyond the counter, and cheap next to what callers do per number).
  uint64_t block = s_.counter >> 2;
  uint32_t lane = static_cast<uint32_t>(s_.counter & 3);
  ++s_.counter;
  auto r = philox({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), static_cast<uint32_t>(s_.stream),
                   static_cast<uint32_t>(s_.stream >> 32)},
                  {static_cast<uint32_t>(s_.seed), static_cast<uint32_t>(s_.seed >> 32)});
  return r[lane];
}

uint64_t Rng::next_u64() {
  uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

float Rng::uniform() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal(float mean, float stddev) {
  // Box–Muller with u1 in (0, 1] so log() is finite; the second variate is discarded to keep the
  // state a plain counter.
  double u1 = (static_cast<double>(next_u32() >> 8) + 1.0) / 16777216.0;
  double u2 = static_cast<double>(next_u32() >> 8) / 16777216.0;
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  return mean + stddev * static_cast<float>(z);
}

bool Rng::bernoulli(float p) { return uniform() < p; }

uint64_t Rng::below(uint64_t n) {
  RC_CHECK(n > 0, "Rng::below", "n must be positive");
  // Lemire-style rejection for an unbiased result.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

void Rng::fill_uniform(Tensor& t, float lo, float hi) {
  // The numbers uniform(lo, hi) would draw one at a time, with one block per 4 words instead of one per
  // word (a model's initial weights: ~1 M numbers for a 2x256 LSTM LM, drawn again by every model load).
  Tensor c = t.contiguous();
  float* p = c.data();
  for (int64_t i = 0, n = c.numel(); i < n;) {
    const uint64_t block = s_.counter >> 2;
    const auto r = philox({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), static_cast<uint32_t>(s_.stream),
                           static_cast<uint32_t>(s_.stream >> 32)},
                          {static_cast<uint32_t>(s_.seed), static_cast<uint32_t>(s_.seed >> 32)});
    for (uint32_t lane = static_cast<uint32_t>(s_.counter & 3); lane < 4 && i < n; ++lane, ++i, ++s_.counter)
      p[i] = lo + (hi - lo) * (static_cast<float>(r[lane] >> 8) * (1.0f / 16777216.0f));
  }
  if (c.data() != t.data()) t.copy_(c);
}

void Rng::fill_normal(Tensor& t, float mean, float stddev) {
  Tensor c = t.contiguous();
  float* p = c.data();
  for (int64_t i = 0, n = c.numel(); i < n; ++i) p[i] = normal(mean, stddev);
  if (c.data() != t.data()) t.copy_(c);
}

}  // namespace recurrent
