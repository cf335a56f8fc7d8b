// The masks of recurrent dropout and zoneout (rnn_direction.h DirParams), drawn from the model's
// deterministic dropout stream (recurrent/core/rng.h: Philox, so a run and its resume draw the same).
#include <cmath>

#include "nn/rnn_direction.h"
#include "recurrent/core/rng.h"

namespace recurrent::rnn {

void draw_dropout_mask(Rng& rng, float p, int64_t n, float* m) {
  const float keep = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform() < p ? 0.0f : keep;
}

// One 64-bit key from the stream (its counter advances by 2 words whatever n is), then per 4 elements one
// 64-bit word: splitmix64's finaliser (Steele et al. 2014) of key + (i+1)·2^64/φ, 16 bits per element,
// z = 1 when they fall below round(p·2^16). Counter-based, so the threads' split does not change the result;
// ~10× cheaper than a Philox block per 8 elements (zoneout draws T·B·H of them per layer, direction and call).
void draw_zoneout_mask(Rng& rng, float p, int64_t n, uint8_t* z) {
  const uint64_t key = rng.next_u64();
  const uint32_t thr = static_cast<uint32_t>(std::lround(static_cast<double>(p) * 65536.0));
  const int64_t nw = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n >= (1 << 18))
  for (int64_t i = 0; i < nw; ++i) {
    uint64_t x = key + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    const int64_t e0 = i * 4, ne = n - e0 < 4 ? n - e0 : 4;
    for (int64_t q = 0; q < ne; ++q) z[e0 + q] = ((x >> (16 * q)) & 0xffffu) < thr;
  }
}

}  // namespace recurrent::rnn
