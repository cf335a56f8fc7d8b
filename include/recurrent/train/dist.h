// recurrent/train/dist.h — synchronous data parallelism: the collective the training driver uses to
// sum gradients across ranks, and how a global batch is cut into the ranks' shards (docs/distributed.md).
//
// The library does not link MPI: it talks to a Collective, which is a single process (size 1, every
// call a no-op) unless a program installs another one. The `recurrent` CLI installs its MPI one
// (src/cli/mpi_comm.cpp) when it runs under mpirun, so `mpirun -np N recurrent train ...` scales
// the same command.
//
// One step on N ranks (train_step in loop.h calls global_share and reduce_gradients):
//   allreduce of one double: W = Σ_r w_r, so rank r knows its share s_r = w_r / W before backward
//   rank r: loss L_r = mean over its shard of w_r units (rows, sentences, tokens) → backward seeded with
//     s_r (not 1) → s_r·g_r: the gradients come out of backward scaled, no pass over them for it
//   allreduce of doubles: Σ_r w_r·L_r, Σ_r w_r, per parameter the number of ranks that have a gradient,
//     per row of each large matrix (kSparseMinRows) the number of ranks where it is non-zero
//   allreduce of floats (bucketed, ≤ kBucketFloats floats each: the large gradients in place, in
//   parameter order, then one buffer packing the small ones and, of a row-sparse matrix, the union's rows):
//     Σ_r s_r·g_r
//   g = Σ w_r·g_r / Σ w_r,  L = Σ w_r·L_r / Σ w_r   — the gradient and loss of the global batch's mean,
//   the same on every rank, so clipping, the NaN checks and the optimizer step agree everywhere.
// With w_r the shard's share of the global mean this equals one process on the whole batch up to
// the order of the floating-point sums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/module.h"
#include "recurrent/optim/optimizer.h"

namespace recurrent::train {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: x ← Σ over ranks of x (every rank passes the same n). `what` names the operation in a
  // time-out message (e.g. "gradients of step 12").
  virtual void allreduce_sum(float* x, size_t n, const std::string& what) = 0;
  virtual void allreduce_sum(double* x, size_t n, const std::string& what) = 0;
  // Several buffers at once, started in order and waited for together (the MPI one overlaps packing
  // the next bucket with the transfer of the previous ones). Default: one after another.
  virtual void allreduce_sum_many(const std::vector<std::pair<float*, size_t>>& bufs, const std::string& what);
};

// The process's collective: a single process until set_collective installs another.
Collective& collective();
void set_collective(std::shared_ptr<Collective> c);
inline int world_rank() { return collective().rank(); }
inline int world_size() { return collective().size(); }
// Rank 0 writes the run's files (checkpoints, metrics, results) and shows the progress.
inline bool is_writer() { return world_rank() == 0; }

// Rank `rank`'s part [begin, end) of n units cut into `size` contiguous parts, the first n % size
// parts one longer. Rank r's rows of a global batch: shard(B, r, N).
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t count() const { return end - begin; }
};
Shard shard(int64_t n, int rank, int size);
inline Shard my_shard(int64_t n) { return shard(n, world_rank(), world_size()); }

// One float per bucket element: 1 Mi floats = 4 MiB.
inline constexpr size_t kBucketFloats = size_t{1} << 20;
// A matrix parameter [R, C] with R ≥ kSparseMinRows (an embedding [V, E]) sends only the rows that are
// non-zero on some rank: their union is found in the first (small) allreduce, as one double per row,
// and when it holds at most half the rows only those rows are summed. Exact: every other row is zero
// on every rank. (A word LM's batch of 400 tokens touches a few hundred of its 10k embedding rows.)
inline constexpr int64_t kSparseMinRows = 2048;

// This rank's share of the global batch, weight / Σ_r weight (one allreduce of a double; the weights are
// unit counts, so every rank gets the same exact sum). weight 0: no work here (share 0). A single process
// returns 1. Error when no rank has work.
double global_share(double weight, int64_t step);

// The global mean's gradients (into every parameter's grad, allocated where another rank had one) and
// its loss; see the contract above. weight 0: this rank had no work (its gradients are ignored).
// scaled: the gradients already hold share·g (backward seeded with global_share); otherwise they are
// multiplied by the share here. Returns L. A single process returns local_loss and leaves the gradients alone.
double reduce_gradients(const NamedParams& params, double local_loss, double weight, int64_t step, bool scaled = false);

// ‖g‖₂ over every parameter's gradient when all ranks hold the same gradients (after reduce_gradients):
// each rank sums the squares of its shard of each gradient's elements; the N parts are gathered (an
// allreduce of N doubles, each rank's in its own slot) and added in rank order, so every rank gets the
// same norm bit for bit (a sum of N doubles inside MPI need not be). A rank reads 1/N of the gradients
// instead of all. A single process: grad_norm (optim/clip.h).
double global_grad_norm(const NamedParams& params, int64_t step);

// Whether a training loop stops before its next step, the same on every rank: a Ctrl-C (interrupted(),
// loop.h) or a spent time budget (`time_up`) on any rank stops all at the same step, and an interrupt on
// one becomes one on all (request_interrupt), so every rank takes the same branch afterwards.
bool stop_requested(bool time_up);
// What reduce_gradients has moved in this process: steps, the bytes (gradients + head) in all and per
// step on average, the last step's buckets, the seconds spent in its allreduces (transfer and
// waiting for the slowest rank), and of them those in the first, small one (doubles: loss, weights,
// row flags), which ends when the last rank arrives — mostly waiting for the slowest rank.
struct ReduceStats {
  int64_t steps = 0, buckets = 0;
  double bytes = 0, bytes_per_step = 0, seconds = 0, head_seconds = 0;
};
const ReduceStats& reduce_stats();
// "data parallel: N ranks, allreduce of X MiB per step in K buckets, Y ms per step" ("" before any step).
std::string reduce_summary();

// Under mpirun rank r > 0 moves each of these RNGs (dropout masks) to a stream of its own (stream + r·2^48),
// so the shards of a batch get different masks; rank 0 keeps the stream its checkpoints save. Call once the
// RNGs' states are set (a fresh run or a resume). A single process: nothing changes.
void rank_streams(const std::vector<Rng*>& rngs);

// Under mpirun: refuses (Error "mpirun", one line) a model whose training changes state outside its gradients —
// lstm_bn's batch statistics (Module buffers) would be each rank's own shard's, so N ranks would not equal one
// process on the whole batch and the saved statistics would be rank 0's alone. A single process: nothing.
void refuse_unsynced_buffers(const Module& model);

// True on every rank when `local` is true on any (a stop request: Ctrl-C, a time budget), so all
// ranks stop at the same step. A single process returns local.
bool any_rank(bool local, const std::string& what);
// Σ over ranks (a sharded evaluation's sums). A single process returns the values unchanged.
void sum_over_ranks(std::vector<double>& values, const std::string& what);

// A tensor cut along dimension `dim` into the ranks' shards (e.g. a carried RNN state [D, B, H] by rows):
// gather_shards puts every rank's part [.., s.count(), ..] at its rows of the whole [.., n, ..] (the same
// on every rank; a single process returns `local`); shard_of takes rank's part of the whole back.
Tensor gather_shards(const Tensor& local, int64_t dim, Shard s, int64_t n, const std::string& what);
Tensor shard_of(const Tensor& whole, int64_t dim, Shard s);

}  // namespace recurrent::train
