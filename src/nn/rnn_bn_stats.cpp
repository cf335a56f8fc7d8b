// lstm_bn's running statistics (contract: rnn_bn_stats.h).
#include "nn/rnn_bn_stats.h"

#include <algorithm>
#include <cstring>

#include "recurrent/core/error.h"

namespace recurrent::rnn {

namespace {
constexpr double kBnMomentum = 0.1;  // torch.nn.BatchNorm1d's default
bool bn_is_var(int k) { return k % 2 == 1; }
int64_t bn_width(int k, int64_t GH, int64_t H) { return k < 4 ? GH : H; }
}  // namespace

Tensor bn_initial_buffer(int k, int64_t GH, int64_t H) {
  Tensor t({1, bn_width(k, GH, H)});
  if (bn_is_var(k)) t.fill_(1.0f);
  return t;
}

BnRunning bn_running_of(const RNN& rnn, size_t layer, int dir, int64_t GH, int64_t H, std::vector<Tensor>& keep) {
  const float* ptr[6] = {};
  int64_t S = -1;
  for (int k = 0; k < 6; ++k) {
    const std::string name = RNN::param_name(kBnBufferKinds[k], layer, dir);
    const Tensor* b = rnn.find_buffer(name);
    RC_CHECK(b != nullptr, name, "lstm_bn layer without its running statistics");
    const int64_t w = bn_width(k, GH, H);
    RC_CHECK(b->dim() == 2 && b->size(0) >= 1 && b->size(1) == w && (S < 0 || b->size(0) == S), name,
             "expected shape [S, ", w, "] with S >= 1 steps (the same S for all six statistics), got ",
             shape_str(b->shape()));
    S = b->size(0);
    keep.push_back(b->contiguous());
    ptr[k] = keep.back().data();
  }
  return BnRunning{S, ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5]};
}

void bn_update_running(RNN& rnn, size_t layer, int dir, int64_t GH, int64_t H, const Tensor& bn_batch,
                       const std::vector<uint8_t>& valid, int64_t B) {
  const int64_t T = bn_batch.size(0), W = bn_batch_width(GH, H);
  std::vector<int64_t> n(T, B);  // valid rows per time step
  if (!valid.empty())
    for (int64_t t = 0; t < T; ++t) n[t] = std::count(valid.begin() + t * B, valid.begin() + (t + 1) * B, 1);
  int64_t off = 0;  // column of kind k in a bn_batch row
  for (int k = 0; k < 6; ++k) {
    const std::string name = RNN::param_name(kBnBufferKinds[k], layer, dir);
    const int64_t w = bn_width(k, GH, H);
    Tensor cur = rnn.find_buffer(name)->contiguous();
    RC_CHECK(cur.dim() == 2 && cur.size(0) >= 1 && cur.size(1) == w, name, "expected shape [S, ", w,
             "] with S >= 1 steps, got ", shape_str(cur.shape()));
    const int64_t S = cur.size(0);
    Tensor next({std::max(S, T), w});  // grown to T steps: new rows start as torch's (mean 0, variance 1)
    std::memcpy(next.data(), cur.data(), S * w * sizeof(float));
    if (bn_is_var(k)) std::fill(next.data() + S * w, next.data() + next.numel(), 1.0f);
    for (int64_t t = 0; t < T; ++t) {
      if (n[t] < 2) continue;  // one valid row: no variance to learn from
      const double unbias = bn_is_var(k) ? static_cast<double>(n[t]) / static_cast<double>(n[t] - 1) : 1.0;
      const float* batch = bn_batch.data() + t * W + off;
      float* run = next.data() + t * w;
      for (int64_t j = 0; j < w; ++j)
        run[j] = static_cast<float>((1.0 - kBnMomentum) * run[j] + kBnMomentum * batch[j] * unbias);
    }
    rnn.set_buffer(name, next);
    off += w;
  }
}

}  // namespace recurrent::rnn
