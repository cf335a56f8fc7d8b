// The scan cells' driver (Cell::scan: minGRU, minLSTM, RG-LRU): one direction of one layer, forward and
// backward. Contract: rnn_direction.h (scan_forward / scan_backward, called by forward / backward).
//
// Their gates are functions of x_t alone and the state update is elementwise, h_t = a_t ⊙ h_{t-1} + b_t:
//   forward   A[T·B, G·H] = X·W_ihᵀ, all steps in one GEMM (oneDNN); then for t in order, every row and
//             unit: the cell's row kernel (biases added there) turns A_t into its activations and h_t
//   backward  for t in reverse: dh_t += dy_t, the row kernel writes dA_t over A_t and dh_{t-1} = a_t ⊙ dh_t;
//             the bias sums (and RG-LRU's dL/d log σ(Λ)) per step while dA_t is in cache;
//             after the loop dX = dA·W_ih and dW_ih = dAᵀ·X, one GEMM each.
// No matrix product inside the time loop, so no barrier either: thread k owns a block of hidden units
// (multiples of 16) for every row and every step, from the first step to the last. A unit's arithmetic
// does not depend on which thread runs it, and each bias column is summed by one thread in one order
// (rows in float per step, steps in double): results are bitwise the same for any thread count.
// The recurrence runs sequentially over t, vectorised over units (the SIMD rows of the shape's target;
// RECURRENT_RNN_FUSED=0 / EngineConfig::fused < 0: the scalar rows) — the paper's parallel (log-space)
// scan computes the same h_t; over T steps it does O(T log T) work to shorten a critical path that B·H
// independent lanes already fill on a CPU.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "nn/rnn_direction.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/gemm.h"
#include "recurrent/kernels/target.h"

namespace recurrent::rnn {

namespace {

constexpr int64_t kUnitBlock = 16;

// Threads: one per block of ≥ 16 units, and one alone below ~64k elements per call (a parallel region
// costs more than the loop).
int scan_threads(const DirShape& s) {
  if (s.T * s.B * s.H < (1 << 16)) return 1;
  const int64_t nb = (s.H + kUnitBlock - 1) / kUnitBlock;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), nb)));
}

void unit_span(int64_t H, int tid, int n, int64_t& j0, int64_t& j1) {
  const int64_t nb = (H + kUnitBlock - 1) / kUnitBlock;
  j0 = std::min(H, nb * tid / n * kUnitBlock);
  j1 = std::min(H, nb * (tid + 1) / n * kUnitBlock);
}

// RG-LRU: log σ(Λ) per unit, in double then rounded once. Empty for the other cells.
std::vector<float> decay_log(const Cell& cell, const DirShape& s, const DirParams& p) {
  if (!cell.decay) return {};
  RC_CHECK(p.lambda, "rnn", cell.name, " needs its lambda parameter");
  std::vector<float> la(s.H);
  for (int64_t j = 0; j < s.H; ++j) {
    const double v = p.lambda[j];
    la[j] = static_cast<float>(v >= 0 ? -std::log1p(std::exp(-v)) : v - std::log1p(std::exp(v)));
  }
  return la;
}

const simd::RnnKernels* row_kernels(const DirShape& s) {
  return s.engine.fused >= 0 ? &simd::rnn_kernels(s.engine.target) : nullptr;
}

void check_scan(const Cell& cell, const DirShape& s) {
  RC_CHECK(s.precision == Precision::fp32, "precision", "bf16 is not implemented for the scan cell ", cell.name,
           "; use fp32");
}

// Units [j0, j0 + n) of every row and step. A [T, B, GH] pre-activations in, activations out; HS slots as
// rnn_direction.h (h0 in slot rev·T).
void forward_units(const Cell& cell, const simd::RnnKernels* k, const DirShape& s, const DirParams& p, float* A,
                   float* HS, const float* la, const uint8_t* valid_all, float* y, int64_t ldy, bool accumulate,
                   int64_t j0, int64_t n) {
  const int64_t T = s.T, B = s.B, H = s.H, GH = s.G() * H;
  const int rev = s.reverse ? 1 : 0;
  FwdRows r{.M = 1, .n = n, .H = H, .a = nullptr, .lda = GH, .gh = nullptr, .folded = false,
            .bias = p.b_ih ? p.b_ih + j0 : nullptr, .b_hh = nullptr, .peep = nullptr, .hp = nullptr, .h = nullptr,
            .cp = nullptr, .c = nullptr, .ex = nullptr, .decay = la ? la + j0 : nullptr};
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    const float* hp = HS + (t + rev) * B * H + j0;
    float* hn = HS + (t + 1 - rev) * B * H + j0;
    float* at = A + t * B * GH + j0;
    const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
    if (!valid) {  // all rows at once (rows GH and H apart)
      r.M = B, r.a = at, r.hp = hp, r.h = hn;
      cell.forward(k, r);
    } else {
      r.M = 1;
      for (int64_t b = 0; b < B; ++b) {
        if (!valid[b]) {  // padding: the state carries over
          std::memcpy(hn + b * H, hp + b * H, n * sizeof(float));
          continue;
        }
        r.a = at + b * GH, r.hp = hp + b * H, r.h = hn + b * H;
        cell.forward(k, r);
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      float* yr = y + (t * B + b) * ldy + j0;
      const float* hr = hn + b * H;
      if (valid && !valid[b]) {
        if (!accumulate) std::memset(yr, 0, n * sizeof(float));
      } else if (accumulate) {
        for (int64_t j = 0; j < n; ++j) yr[j] += hr[j];
      } else {
        std::memcpy(yr, hr, n * sizeof(float));
      }
    }
  }
}

// Units [j0, j0 + n) of every row, t = T-1 … 0. dh, dhp [B, H] (offset by j0; dh holds dL/dh_T); returns
// the one that holds dL/dh0. dbias [GH] (or null) and dla [H] (decay cells, or null) receive this block's
// columns: each step's rows summed in float, the steps in double.
float* backward_units(const Cell& cell, const simd::RnnKernels* k, const DirShape& s, float* A, const float* HS,
                      const float* la, const uint8_t* valid_all, const float* dy, int64_t ldy, float* dh, float* dhp,
                      double* dbias, double* dla, float* dh_norm, int64_t j0, int64_t n) {
  const int64_t T = s.T, B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  std::vector<float> part(dbias ? G * n : 0), dla_step(dla ? n : 0);
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    const float* hp = HS + (t + rev) * B * H + j0;
    const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
    std::fill(part.begin(), part.end(), 0.0f);
    std::fill(dla_step.begin(), dla_step.end(), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      float* d = dh + b * H;
      float* arow = A + (t * B + b) * GH + j0;
      const bool ok = !valid || valid[b];
      if (ok && dy)
        for (int64_t j = 0; j < n; ++j) d[j] += dy[(t * B + b) * ldy + j0 + j];
      if (dh_norm) {  // one thread, all units (scan_backward)
        double acc = 0.0;
        for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(d[j]) * d[j];
        dh_norm[t * B + b] = static_cast<float>(std::sqrt(acc));
      }
      if (!ok) {  // padding: no gate gradient, dh passes through
        for (int64_t g = 0; g < G; ++g) std::memset(arow + g * H, 0, n * sizeof(float));
        std::memcpy(dhp + b * H, d, n * sizeof(float));
        continue;
      }
      cell.backward(k, {.n = n, .H = H, .a = arow, .da = arow, .dgh = nullptr, .hp = hp + b * H, .cp = nullptr,
                        .c = nullptr, .ex = nullptr, .dh = d, .dc = nullptr, .dhp = dhp + b * H, .peep = nullptr,
                        .dpeep = nullptr, .dex = nullptr, .decay = la ? la + j0 : nullptr,
                        .ddecay = dla ? dla_step.data() : nullptr});
      if (dbias)
        for (int64_t g = 0; g < G; ++g)
          for (int64_t j = 0; j < n; ++j) part[g * n + j] += arow[g * H + j];
    }
    if (dbias)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t j = 0; j < n; ++j) dbias[g * H + j0 + j] += part[g * n + j];
    if (dla)
      for (int64_t j = 0; j < n; ++j) dla[j0 + j] += dla_step[j];
    std::swap(dh, dhp);
  }
  return dh;
}

}  // namespace

void scan_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                  float* y, int64_t ldy, bool accumulate, float* h_n, DirTape& tape) {
  const Cell& cell = cell_of(s.cell);
  check_scan(cell, s);
  const int64_t T = s.T, B = s.B, H = s.H, GH = s.G() * H, I = s.I;
  RC_CHECK(s.R == H, "proj_size", cell.name, " has no projection");
  // Every element of A and HS is written below (the GEMM, h0's slot, then every step's slot).
  tape.a = Tensor::uninitialized({T, B, GH});
  tape.hs = Tensor::uninitialized({T + 1, B, H});
  float* A = tape.a.data();
  float* HS = tape.hs.data();
  gemm(Trans::N, Trans::T, T * B, GH, I, 1.0f, x, I, p.w_ih, I, 0.0f, A, GH);  // A = X W_ihᵀ
  float* h0slot = HS + (s.reverse ? T : 0) * B * H;
  if (h0) {
    std::memcpy(h0slot, h0, B * H * sizeof(float));
  } else {
    std::memset(h0slot, 0, B * H * sizeof(float));
  }
  const std::vector<float> la = decay_log(cell, s, p);
  const simd::RnnKernels* k = row_kernels(s);
  const int nt = scan_threads(s);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t j0, j1;
    unit_span(H, omp_get_thread_num(), omp_get_num_threads(), j0, j1);
    if (j0 < j1)
      forward_units(cell, k, s, p, A, HS, la.empty() ? nullptr : la.data(), valid_all, y, ldy, accumulate, j0,
                    j1 - j0);
  }
  if (h_n) std::memcpy(h_n, HS + (s.reverse ? 0 : T) * B * H, B * H * sizeof(float));
  if (valid_all) tape.valid.assign(valid_all, valid_all + T * B);
}

void scan_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                   const float* dh_n, float* dx, float* dh0, const DirGrads& g) {
  const Cell& cell = cell_of(s.cell);
  check_scan(cell, s);
  const int64_t T = s.T, B = s.B, H = s.H, GH = s.G() * H, I = s.I, TB = T * B;
  float* A = tape.a.data();  // activations in, dA out (step by step)
  const float* HS = tape.hs.data();
  const uint8_t* valid_all = tape.valid.empty() ? nullptr : tape.valid.data();
  Tensor dh({B, H}), dhp({B, H});
  if (dh_n) std::memcpy(dh.data(), dh_n, B * H * sizeof(float));
  std::vector<double> dbias(g.b_ih ? GH : 0, 0.0), dla(cell.decay ? H : 0, 0.0);
  const std::vector<float> la = decay_log(cell, s, p);
  const simd::RnnKernels* k = row_kernels(s);
  const int nt = g.dh_norm ? 1 : scan_threads(s);  // the gradient lab's row norms need whole rows
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t j0, j1;
    unit_span(H, omp_get_thread_num(), omp_get_num_threads(), j0, j1);
    if (j0 < j1)
      backward_units(cell, k, s, A, HS, la.empty() ? nullptr : la.data(), valid_all, dy, ldy, dh.data() + j0,
                     dhp.data() + j0, dbias.empty() ? nullptr : dbias.data(), dla.empty() ? nullptr : dla.data(),
                     g.dh_norm, j0, j1 - j0);
  }
  const float* dh_first = (T % 2 == 0 ? dh : dhp).data();  // swapped once per step
  if (dh0) std::memcpy(dh0, dh_first, B * H * sizeof(float));
  for (size_t j = 0; j < dbias.size(); ++j) g.b_ih[j] += static_cast<float>(dbias[j]);
  if (g.lambda)
    for (int64_t j = 0; j < H; ++j)
      g.lambda[j] += static_cast<float>(dla[j] / (1.0 + std::exp(static_cast<double>(p.lambda[j]))));  // ·(1 - σ(Λ))
  if (dx) gemm(Trans::N, Trans::N, TB, I, GH, 1.0f, A, GH, p.w_ih, I, 1.0f, dx, I);       // dX += dA W_ih
  if (g.w_ih) gemm(Trans::T, Trans::N, GH, I, TB, 1.0f, A, GH, x, I, 1.0f, g.w_ih, I);   // dW_ih += dAᵀ X
}

}  // namespace recurrent::rnn
