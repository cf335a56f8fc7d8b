// recurrent/core/rng.h — deterministic, counter-based random numbers (Philox4x32-10).
//
// Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3". A stream is (seed, stream id);
// the n-th number of a stream depends only on (seed, stream, n), never on thread timing, so
// results are reproducible for a given seed. The whole state is three integers (saved in checkpoints).
#pragma once

#include <array>
#include <cstdint>

#include "recurrent/core/tensor.h"

namespace recurrent {

class Rng {
 public:
  struct State {
    uint64_t seed = 0;
    uint64_t stream = 0;
    uint64_t counter = 0;  // number of 32-bit words drawn so far
  };

  explicit Rng(uint64_t seed = 0, uint64_t stream = 0) : s_{seed, stream, 0} {}

  uint32_t next_u32();
  uint64_t next_u64();
  float uniform();                          // [0, 1), 24 random bits
  float uniform(float lo, float hi);        // [lo, hi)
  float normal(float mean = 0.0f, float stddev = 1.0f);  // Box–Muller
  bool bernoulli(float p);                  // true with probability p
  uint64_t below(uint64_t n);               // uniform integer in [0, n), unbiased

  void fill_uniform(Tensor& t, float lo, float hi);
  void fill_normal(Tensor& t, float mean, float stddev);

  // An independent stream derived from this one's seed (e.g. one per worker or per purpose).
  Rng fork(uint64_t stream) const { return Rng(s_.seed, s_.stream * 0x9E3779B97F4A7C15ull + stream + 1); }

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

  // The raw block function: 4 words for (counter, key). Exposed for tests against known answers.
  static std::array<uint32_t, 4> philox(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key);

 private:
  State s_;
};

}  // namespace recurrent
