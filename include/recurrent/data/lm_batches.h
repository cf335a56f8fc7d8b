// recurrent/data/lm_batches.h — language-model batches for truncated backpropagation through time.
//
// The token stream s[0..N) (after a start offset o) is cut into B contiguous rows of L tokens:
//   L = (N − o − 1) / B,   row b = s[o + b·L, o + (b+1)·L]   (L + 1 tokens: inputs and the targets
//   shifted by one). Chunk k holds steps [k·T, min((k+1)·T, L)) of every row, time-major:
//   inputs[t·B + b] = s[o + b·L + k·T + t],  targets[t·B + b] = s[o + b·L + k·T + t + 1].
// Consecutive chunks continue each row, so the hidden state at the end of chunk k is the right
// initial state of chunk k+1 (carried, detached: gradients stop at chunk edges). A random offset
// o ∈ [0, T) each epoch moves the chunk edges, so no token is always at a chunk's first step.
// The last N − o − 1 − B·L tokens (fewer than B) are not used in that epoch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::data {

struct LmChunk {
  int64_t T = 0, B = 0;            // steps in this chunk (≤ seq_len), rows
  std::vector<int64_t> inputs;     // [T, B] time-major
  std::vector<int64_t> targets;    // [T, B]
  // Rows [b0, b1) of every step: [T, b1 − b0] (a data-parallel rank's shard of the global batch).
  LmChunk columns(int64_t b0, int64_t b1) const;
};

class LmBatcher {
 public:
  // Throws Error(where, ...) when the stream is too short for `batch` rows of at least one step.
  LmBatcher(const std::vector<int64_t>& stream, int64_t batch, int64_t seq_len, int64_t offset,
            const std::string& where);

  int64_t row_len() const { return row_len_; }
  int64_t num_chunks() const { return (row_len_ + seq_len_ - 1) / seq_len_; }
  int64_t tokens() const { return row_len_ * batch_; }  // predicted tokens per pass
  LmChunk chunk(int64_t k) const;

 private:
  const std::vector<int64_t>& s_;
  int64_t batch_, seq_len_, offset_, row_len_;
};

}  // namespace recurrent::data
