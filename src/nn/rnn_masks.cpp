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

// One 64-bit key from the stream (its counter advances by 2 words whatever n is), then one Philox block
// per 8 elements, 16 bits each: z = 1 when the 16 bits fall below round(p·2^16). Counter-based, so the
// threads' split of the blocks does not change the result.
void draw_zoneout_mask(Rng& rng, float p, int64_t n, uint8_t* z) {
  const uint64_t key = rng.next_u64();
  const uint32_t thr = static_cast<uint32_t>(std::lround(static_cast<double>(p) * 65536.0));
  const std::array<uint32_t, 2> k{static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)};
  const int64_t nblk = (n + 7) / 8;
#pragma omp parallel for schedule(static) if (n >= (1 << 18))
  for (int64_t i = 0; i < nblk; ++i) {
    const std::array<uint32_t, 4> r =
        Rng::philox({static_cast<uint32_t>(i), static_cast<uint32_t>(static_cast<uint64_t>(i) >> 32), 0x7a6f6e65u, 0u}, k);
    const int64_t e0 = i * 8, ne = n - e0 < 8 ? n - e0 : 8;
    for (int64_t q = 0; q < ne; ++q) z[e0 + q] = ((r[q / 2] >> (16 * (q % 2))) & 0xffffu) < thr;
  }
}

}  // namespace recurrent::rnn
