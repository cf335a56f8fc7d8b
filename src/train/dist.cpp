// The collective the training driver sums gradients with (contract in include/recurrent/train/dist.h).
#include "recurrent/train/dist.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "recurrent/core/error.h"
#include "recurrent/train/loop.h"

namespace recurrent::train {

namespace {
// One process: rank 0 of 1; a sum over one rank is the value itself.
class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(float*, size_t, const std::string&) override {}
  void allreduce_sum(double*, size_t, const std::string&) override {}
};

std::mutex g_mu;
ReduceStats g_stats;
std::shared_ptr<Collective>& current() {
  static std::shared_ptr<Collective> c = std::make_shared<SingleProcess>();
  return c;
}
}  // namespace

void Collective::allreduce_sum_many(const std::vector<std::pair<float*, size_t>>& bufs, const std::string& what) {
  for (const auto& [p, n] : bufs) allreduce_sum(p, n, what);
}

Collective& collective() {
  std::lock_guard<std::mutex> lock(g_mu);
  return *current();
}

void set_collective(std::shared_ptr<Collective> c) {
  std::lock_guard<std::mutex> lock(g_mu);
  current() = c ? std::move(c) : std::make_shared<SingleProcess>();
}

Shard shard(int64_t n, int rank, int size) {
  RC_CHECK(size >= 1 && rank >= 0 && rank < size && n >= 0, "shard", "rank ", rank, " of ", size, " over ", n, " units");
  const int64_t q = n / size, r = n % size;
  const int64_t begin = rank * q + std::min<int64_t>(rank, r);
  return {begin, begin + q + (rank < r ? 1 : 0)};
}

const ReduceStats& reduce_stats() { return g_stats; }

std::string reduce_summary() {
  if (g_stats.steps == 0) return "";
  char buf[200];
  std::snprintf(buf, sizeof buf, "data parallel: %d ranks, allreduce of %.3f MiB per step in %lld bucket%s, %.2f ms per step",
                world_size(), g_stats.bytes_per_step / 1048576.0, static_cast<long long>(g_stats.buckets),
                g_stats.buckets == 1 ? "" : "s", 1e3 * g_stats.seconds / static_cast<double>(g_stats.steps));
  return buf;
}

double reduce_gradients(const NamedParams& params, double local_loss, double weight, int64_t step) {
  Collective& c = collective();
  if (c.size() == 1) return local_loss;
  const std::string what = "the gradients of step " + std::to_string(step);
  // doubles: [w·L, w, has_grad(p) for each parameter]
  const size_t P = params.size();
  std::vector<double> head(2 + P, 0.0);
  if (weight > 0) head[0] = weight * local_loss, head[1] = weight;
  for (size_t i = 0; i < P; ++i) head[2 + i] = weight > 0 && params[i].second.has_grad() ? 1.0 : 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  c.allreduce_sum(head.data(), head.size(), what);
  const double W = head[1];
  RC_CHECK(W > 0, "training", "no rank had work at step ", step, " (the global batch is empty)");
  // floats: (w_r / W)·g_r of every parameter some rank has a gradient for, in order, cut into buckets.
  const float share = static_cast<float>(weight / W);
  std::vector<Tensor*> grads;
  size_t total = 0;
  for (size_t i = 0; i < P; ++i) {
    if (head[2 + i] == 0) continue;
    Var p = params[i].second;
    Tensor& g = p.grad();  // zeros where this rank had none
    RC_CHECK(g.is_contiguous(), "training", "the gradient of ", params[i].first, " is not contiguous");
    grads.push_back(&g);
    total += static_cast<size_t>(g.numel());
  }
  std::vector<float> flat(total);
  size_t at = 0;
  for (Tensor* g : grads) {
    const float* s = std::as_const(*g).data();
    const size_t n = static_cast<size_t>(g->numel());
    if (weight > 0) for (size_t k = 0; k < n; ++k) flat[at + k] = share * s[k];
    else std::fill(flat.begin() + static_cast<std::ptrdiff_t>(at), flat.begin() + static_cast<std::ptrdiff_t>(at + n), 0.0f);
    at += n;
  }
  std::vector<std::pair<float*, size_t>> buckets;
  for (size_t b = 0; b < total; b += kBucketFloats) buckets.push_back({flat.data() + b, std::min(kBucketFloats, total - b)});
  c.allreduce_sum_many(buckets, what);
  g_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  g_stats.steps += 1, g_stats.buckets = static_cast<int64_t>(buckets.size());
  g_stats.bytes_per_step = static_cast<double>(total * sizeof(float) + head.size() * sizeof(double));
  at = 0;
  for (Tensor* g : grads) {
    const size_t n = static_cast<size_t>(g->numel());
    std::memcpy(g->data(), flat.data() + at, n * sizeof(float));
    at += n;
  }
  return head[0] / W;
}

bool stop_requested(bool time_up) {
  Collective& c = collective();
  if (c.size() == 1) return interrupted() || time_up;
  double v[2] = {interrupted() ? 1.0 : 0.0, time_up ? 1.0 : 0.0};
  c.allreduce_sum(v, 2, "the stop check");
  if (v[0] > 0) request_interrupt();
  return v[0] > 0 || v[1] > 0;
}

void rank_streams(const std::vector<Rng*>& rngs) {
  const uint64_t r = static_cast<uint64_t>(world_rank());
  if (r == 0) return;
  for (Rng* g : rngs) {
    Rng::State s = g->state();
    s.stream += r << 48;
    g->set_state(s);
  }
}

bool any_rank(bool local, const std::string& what) {
  Collective& c = collective();
  if (c.size() == 1) return local;
  double v = local ? 1.0 : 0.0;
  c.allreduce_sum(&v, 1, what);
  return v > 0;
}

void sum_over_ranks(std::vector<double>& values, const std::string& what) {
  Collective& c = collective();
  if (c.size() > 1 && !values.empty()) c.allreduce_sum(values.data(), values.size(), what);
}

Tensor gather_shards(const Tensor& local, int64_t dim, Shard s, int64_t n, const std::string& what) {
  Collective& c = collective();
  if (c.size() == 1) return local;
  Shape shape = local.shape();
  RC_CHECK(dim < static_cast<int64_t>(shape.size()) && shape[static_cast<size_t>(dim)] == s.count(), what,
           "a shard of shape ", shape_str(shape), " is not ", s.count(), " rows along dimension ", dim);
  shape[static_cast<size_t>(dim)] = n;
  Tensor whole = Tensor::zeros(shape);  // zeros + the one rank that owns each row: exact
  if (s.count() > 0) whole.slice(dim, s.begin, s.end).copy_(local);
  c.allreduce_sum(whole.data(), static_cast<size_t>(whole.numel()), what);
  return whole;
}

Tensor shard_of(const Tensor& whole, int64_t dim, Shard s) { return whole.slice(dim, s.begin, s.end).contiguous(); }

}  // namespace recurrent::train
