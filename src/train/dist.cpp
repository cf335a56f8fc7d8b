// The collective the training driver sums gradients with (contract in include/recurrent/train/dist.h).
#include "recurrent/train/dist.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "recurrent/core/error.h"
#include "recurrent/kernels/reduce.h"
#include "recurrent/optim/clip.h"
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
  char buf[300];
  const double steps = static_cast<double>(g_stats.steps);
  std::snprintf(buf, sizeof buf,
                "data parallel: %d ranks, allreduce of %.3f MiB per step in %lld bucket%s, %.2f ms per step "
                "(%.2f ms of it in the first, small allreduce: waiting for the slowest rank)",
                world_size(), g_stats.bytes_per_step / 1048576.0, static_cast<long long>(g_stats.buckets),
                g_stats.buckets == 1 ? "" : "s", 1e3 * g_stats.seconds / steps, 1e3 * g_stats.head_seconds / steps);
  return buf;
}

namespace {
// A parameter whose gradient may be row-sparse (an embedding [V, E]: only the rows of the batch's tokens
// are non-zero): a matrix of at least kSparseMinRows rows. It depends on the shape only, so every rank
// decides the same.
bool row_sparse_candidate(const Tensor& p) { return p.dim() == 2 && p.shape()[0] >= kSparseMinRows; }

// mask[r] = 1 where row r of g [R, C] has a non-zero bit (−0 counts), else 0. 16 columns at a time
// (vectorised), stopping at the first non-zero chunk: a dense row costs one chunk, a zero row all of it.
void nonzero_rows(const float* g, int64_t R, int64_t C, double* mask) {
  constexpr int64_t kChunk = 16;
  for (int64_t r = 0; r < R; ++r) {
    const float* row = g + r * C;
    uint32_t any = 0;
    for (int64_t k0 = 0; k0 < C && any == 0; k0 += kChunk) {
      const int64_t k1 = std::min(C, k0 + kChunk);
      for (int64_t k = k0; k < k1; ++k) {
        uint32_t bits;
        std::memcpy(&bits, row + k, sizeof bits);
        any |= bits;
      }
    }
    mask[r] = any != 0 ? 1.0 : 0.0;
  }
}

// A dense gradient smaller than this (a bias, a small matrix) is copied into the packed buffer with the
// others instead of taking an allreduce of its own: fewer calls, each a synchronisation of all ranks.
constexpr size_t kPackFloats = size_t{1} << 16;

// What one parameter sends: all of its gradient, or the rows of `rows` (the union over the ranks of
// the rows that are non-zero anywhere; every other row is zero on every rank, so its sum is 0).
// A packed piece (sparse, or small) is copied into one buffer with the others; the rest are summed in place.
struct Piece {
  Node* node = nullptr;  // its gradient: node->grad
  bool sparse = false;
  std::vector<int64_t> rows;
  Tensor& g() const { return node->grad; }
  size_t floats() const {
    return sparse ? rows.size() * static_cast<size_t>(g().shape()[1]) : static_cast<size_t>(g().numel());
  }
  bool packed() const { return sparse || floats() < kPackFloats; }
};

// The pieces of the parameters some rank has a gradient for, in order. head: the reduced
// [w·L, w, has_grad × P, the row masks of the candidates in order].
std::vector<Piece> plan_pieces(const NamedParams& params, const std::vector<double>& head) {
  const size_t P = params.size();
  std::vector<Piece> pieces;
  size_t mask_at = 2 + P;
  for (size_t i = 0; i < P; ++i) {
    Var p = params[i].second;
    const bool candidate = row_sparse_candidate(p.value());
    const double* mask = head.data() + mask_at;
    const int64_t R = candidate ? p.value().shape()[0] : 0;
    mask_at += static_cast<size_t>(R);
    if (head[2 + i] == 0) continue;
    Piece piece;
    piece.node = p.node();
    grad_buffer(*p.node());  // zeros where this rank had none; drops its row support (unpack sets it again)
    RC_CHECK(piece.g().is_contiguous(), "training", "the gradient of ", params[i].first, " is not contiguous");
    if (candidate) {
      for (int64_t r = 0; r < R; ++r)
        if (mask[r] > 0) piece.rows.push_back(r);
      piece.sparse = 2 * static_cast<int64_t>(piece.rows.size()) <= R;  // else the dense one moves less
      if (!piece.sparse) piece.rows.clear();
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// Before the sum: an unpacked piece is scaled in place (share·g unless share is 1, i.e. backward scaled
// it already; zeros when this rank had no work) and summed where it lies; a packed piece (its rows when
// sparse) is copied (scaled) into `flat`. The buckets: the unpacked pieces in parameter order, then
// `flat`, each cut at kBucketFloats.
std::vector<std::pair<float*, size_t>> prepare(const std::vector<Piece>& pieces, float share, bool has_work,
                                               std::vector<float>& flat) {
  size_t packed_floats = 0;
  for (const Piece& pc : pieces) packed_floats += pc.packed() ? pc.floats() : 0;
  flat.assign(packed_floats, 0.0f);
  std::vector<std::pair<float*, size_t>> buckets;
  auto cut = [&](float* d, size_t n) {
    for (size_t b = 0; b < n; b += kBucketFloats) buckets.push_back({d + b, std::min(kBucketFloats, n - b)});
  };
  size_t at = 0;
  for (const Piece& pc : pieces) {
    const size_t n = pc.floats();
    float* src = pc.g().data();
    if (!pc.packed()) {
      if (!has_work) std::fill_n(src, n, 0.0f);
      else if (share != 1.0f) for (size_t k = 0; k < n; ++k) src[k] = share * src[k];
      cut(src, n);
      continue;
    }
    float* dst = flat.data() + at;
    at += n;
    if (!has_work) continue;  // zeros
    if (!pc.sparse) {
      for (size_t k = 0; k < n; ++k) dst[k] = share * src[k];
      continue;
    }
    const size_t C = static_cast<size_t>(pc.g().shape()[1]);
    for (size_t j = 0; j < pc.rows.size(); ++j)
      for (size_t k = 0; k < C; ++k) dst[j * C + k] = share * src[static_cast<size_t>(pc.rows[j]) * C + k];
  }
  cut(flat.data(), flat.size());
  return buckets;
}

// The packed pieces' sums back: a small dense one whole, a sparse one into its rows. A sparse piece's
// other rows are zero on every rank: already zero here when this rank had work (its mask said so),
// cleared when it had none; its gradient keeps the union as its row support (var.h), the same on every rank.
void unpack(const std::vector<Piece>& pieces, bool has_work, const std::vector<float>& flat) {
  size_t at = 0;
  for (const Piece& pc : pieces) {
    if (!pc.packed()) continue;
    float* d = pc.g().data();
    if (!pc.sparse) {
      std::memcpy(d, flat.data() + at, pc.floats() * sizeof(float));
      at += pc.floats();
      continue;
    }
    if (!has_work) pc.g().zero_();
    const size_t C = static_cast<size_t>(pc.g().shape()[1]);
    for (size_t j = 0; j < pc.rows.size(); ++j)
      std::memcpy(d + static_cast<size_t>(pc.rows[j]) * C, flat.data() + at + j * C, C * sizeof(float));
    at += pc.floats();
    set_grad_row_support(*pc.node, pc.rows);
  }
}
}  // namespace

double global_share(double weight, int64_t step) {
  Collective& c = collective();
  if (c.size() == 1) return 1.0;
  double W = weight > 0 ? weight : 0.0;
  c.allreduce_sum(&W, 1, "the batch weights of step " + std::to_string(step));
  RC_CHECK(W > 0, "training", "no rank had work at step ", step, " (the global batch is empty)");
  return weight > 0 ? weight / W : 0.0;
}

double reduce_gradients(const NamedParams& params, double local_loss, double weight, int64_t step, bool scaled) {
  Collective& c = collective();
  if (c.size() == 1) return local_loss;
  const std::string what = "the gradients of step " + std::to_string(step);
  // doubles: [w·L, w, has_grad(p) for each parameter, the non-zero rows of each row-sparse candidate]
  const size_t P = params.size();
  const bool has_work = weight > 0;
  size_t mask_rows = 0;
  for (const auto& [name, p] : params)
    if (row_sparse_candidate(p.value())) mask_rows += static_cast<size_t>(p.value().shape()[0]);
  std::vector<double> head(2 + P + mask_rows, 0.0);
  if (has_work) head[0] = weight * local_loss, head[1] = weight;
  size_t mask_at = 2 + P;
  for (size_t i = 0; i < P; ++i) {
    Var p = params[i].second;
    head[2 + i] = has_work && p.has_grad() ? 1.0 : 0.0;
    if (!row_sparse_candidate(p.value())) continue;
    const int64_t R = p.value().shape()[0], C = p.value().shape()[1];
    if (head[2 + i] != 0) {
      const Tensor& g = p.node()->grad;  // read only: its row support stays known
      RC_CHECK(g.is_contiguous(), "training", "the gradient of ", params[i].first, " is not contiguous");
      if (const std::vector<int64_t>* rows = grad_row_support(*p.node()))
        for (int64_t r : *rows) head[mask_at + static_cast<size_t>(r)] = 1.0;  // rows outside are zero
      else nonzero_rows(g.data(), R, C, head.data() + mask_at);
    }
    mask_at += static_cast<size_t>(R);
  }
  const auto t0 = std::chrono::steady_clock::now();
  c.allreduce_sum(head.data(), head.size(), what);
  // The head completes when the last rank arrives: its time is mostly waiting for the slowest rank.
  g_stats.head_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double W = head[1];
  RC_CHECK(W > 0, "training", "no rank had work at step ", step, " (the global batch is empty)");
  // floats: (w_r / W)·g_r of every parameter some rank has a gradient for (a sparse one: the union's
  // rows), in order, cut into buckets; the dense ones summed in place.
  const std::vector<Piece> pieces = plan_pieces(params, head);
  std::vector<float> flat;
  const auto buckets = prepare(pieces, scaled ? 1.0f : static_cast<float>(weight / W), has_work, flat);
  size_t total = 0;
  for (const auto& bk : buckets) total += bk.second;
  c.allreduce_sum_many(buckets, what);
  g_stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  g_stats.steps += 1, g_stats.buckets = static_cast<int64_t>(buckets.size());
  g_stats.bytes += static_cast<double>(total * sizeof(float) + head.size() * sizeof(double));
  g_stats.bytes_per_step = g_stats.bytes / static_cast<double>(g_stats.steps);
  unpack(pieces, has_work, flat);
  return head[0] / W;
}

double global_grad_norm(const NamedParams& params, int64_t step) {
  Collective& c = collective();
  std::vector<Var> ps;
  for (const auto& [name, p] : params) ps.push_back(p);
  if (c.size() == 1) return grad_norm(ps);
  // parts[r]: rank r's Σ over its shards; zeros elsewhere, so the allreduce only gathers (exact).
  std::vector<double> parts(static_cast<size_t>(c.size()), 0.0);
  double& mine = parts[static_cast<size_t>(c.rank())];
  for (const Var& p : ps) {
    if (!p.has_grad()) continue;
    Node& n = *p.node();
    RC_CHECK(n.grad.is_contiguous(), "training", "a gradient is not contiguous");
    // The parts that may be non-zero (the row support's runs, or all: var.h), concatenated and sharded.
    int64_t total = 0, at = 0;
    for_each_grad_span(n, [&](float*, int64_t count) { total += count; });
    const Shard s = my_shard(total);
    for_each_grad_span(n, [&](float* g, int64_t count) {
      const int64_t b = std::max(at, s.begin), e = std::min(at + count, s.end);
      if (b < e) mine += sum_squares(g + (b - at), e - b);
      at += count;
    });
  }
  c.allreduce_sum(parts.data(), parts.size(), "the gradient norm of step " + std::to_string(step));
  double sum_sq = 0.0;
  for (double v : parts) sum_sq += v;  // rank order: the same on every rank
  return std::sqrt(sum_sq);
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

void refuse_unsynced_buffers(const Module& model) {
  if (world_size() == 1) return;
  const auto buffers = model.named_buffers();
  RC_CHECK(buffers.empty(), "mpirun", "this model keeps batch statistics (", buffers.front().first,
           ": lstm_bn) that data-parallel training does not synchronise across ranks; train it in one process");
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
