// Truncated-BPTT batching of a token stream (contract in include/recurrent/data/lm_batches.h).
#include "recurrent/data/lm_batches.h"

#include <algorithm>

#include "recurrent/core/error.h"

namespace recurrent::data {

LmBatcher::LmBatcher(const std::vector<int64_t>& stream, int64_t batch, int64_t seq_len, int64_t offset,
                     const std::string& where)
    : s_(stream), batch_(batch), seq_len_(seq_len), offset_(offset), row_len_(0) {
  RC_CHECK(batch >= 1, "--batch", "expected >= 1, got ", batch);
  RC_CHECK(seq_len >= 1, "--seq-len", "expected >= 1, got ", seq_len);
  const int64_t n = static_cast<int64_t>(stream.size());
  RC_CHECK(offset >= 0 && offset < std::max<int64_t>(n, 1), where, "offset ", offset, " outside the stream");
  row_len_ = (n - offset - 1) / batch;
  RC_CHECK(row_len_ >= 1, where, n, " tokens are too few for ", batch, " rows (need at least ", batch + 1 + offset,
           "); use a smaller --batch or more text");
}

LmChunk LmChunk::columns(int64_t b0, int64_t b1) const {
  RC_CHECK(0 <= b0 && b0 <= b1 && b1 <= B, "LmChunk", "rows [", b0, ", ", b1, ") outside [0, ", B, ")");
  LmChunk c;
  c.T = T, c.B = b1 - b0;
  c.inputs.resize(static_cast<size_t>(c.T * c.B));
  c.targets.resize(c.inputs.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = b0; b < b1; ++b) {
      c.inputs[static_cast<size_t>(t * c.B + b - b0)] = inputs[static_cast<size_t>(t * B + b)];
      c.targets[static_cast<size_t>(t * c.B + b - b0)] = targets[static_cast<size_t>(t * B + b)];
    }
  return c;
}

LmChunk LmBatcher::chunk(int64_t k) const {
  RC_CHECK(k >= 0 && k < num_chunks(), "LmBatcher", "chunk ", k, " outside [0, ", num_chunks(), ")");
  LmChunk c;
  c.B = batch_;
  c.T = std::min(seq_len_, row_len_ - k * seq_len_);
  c.inputs.resize(static_cast<size_t>(c.T * c.B));
  c.targets.resize(c.inputs.size());
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t b = 0; b < c.B; ++b) {
      const size_t pos = static_cast<size_t>(offset_ + b * row_len_ + k * seq_len_ + t);
      c.inputs[static_cast<size_t>(t * c.B + b)] = s_[pos];
      c.targets[static_cast<size_t>(t * c.B + b)] = s_[pos + 1];
    }
  return c;
}

}  // namespace recurrent::data
