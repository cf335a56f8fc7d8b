// One direction of one recurrent layer: fast forward and explicit BPTT. Contract: rnn_direction.h.
#include "nn/rnn_direction.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/gemm_bf16.h"
#include "kernels/simd/rnn_kernels.h"
#include "nn/cell.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/gemm.h"
#include "recurrent/kernels/target.h"

namespace recurrent::rnn {

namespace {

// C[M, N] += A[M, K] · B[N, K]ᵀ   (the "x W_ᵀ" shape of every forward product)
void gemm_nt(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
             float* C, int64_t ldc) {
  gemm(Trans::N, Trans::T, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
// C[M, N] += A[M, K] · B[K, N]      (the "dA W" shape of every backward product)
void gemm_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
             float* C, int64_t ldc) {
  gemm(Trans::N, Trans::N, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
// C[M, N] += A[K, M]ᵀ · B[K, N]     (weight gradients summed over K = T*B rows)
void gemm_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
             int64_t ldc) {
  gemm(Trans::T, Trans::N, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
}

// out[j] += Σ_rows m[row, j]. T*B rows can be many: float partial sums over chunks of 64 rows (a
// contiguous, vectorised inner loop), chunk sums accumulated in double. Threads split the columns
// (blocks of 256), so every column's summation order is the same for any thread count.
// out2 (may be null) receives the same sums (b_ih and b_hh see the same gradient in most cells).
void add_colsum(int64_t rows, int64_t cols, const float* m, int64_t ld, float* out, float* out2 = nullptr) {
  constexpr int64_t kChunk = 64, kCols = 256;
  const int64_t nblk = (cols + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 20))
  for (int64_t blk = 0; blk < nblk; ++blk) {
    const int64_t j0 = blk * kCols, nj = std::min(kCols, cols - j0);
    double acc[kCols] = {};
    float part[kCols];
    for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
      std::fill(part, part + nj, 0.0f);
      for (int64_t r = r0; r < std::min(rows, r0 + kChunk); ++r) {
        const float* row = m + r * ld + j0;
        for (int64_t j = 0; j < nj; ++j) part[j] += row[j];
      }
      for (int64_t j = 0; j < nj; ++j) acc[j] += part[j];
    }
    for (int64_t j = 0; j < nj; ++j) out[j0 + j] += static_cast<float>(acc[j]);
    if (out2)
      for (int64_t j = 0; j < nj; ++j) out2[j0 + j] += static_cast<float>(acc[j]);
  }
}

// out[b] = ‖v[b, :]‖, summed in double (the gradient lab's per-row norms).
void row_norms(int64_t B, int64_t n, const float* v, float* out) {
  for (int64_t b = 0; b < B; ++b) {
    double acc = 0.0;
    for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(v[b * n + j]) * v[b * n + j];
    out[b] = static_cast<float>(std::sqrt(acc));
  }
}

// Rows of padded steps keep the previous state: dst[b] = src[b] where !valid[b].
void carry_rows(int64_t B, int64_t n, const uint8_t* valid, const float* src, float* dst) {
  if (!valid) return;
  for (int64_t b = 0; b < B; ++b)
    if (!valid[b]) std::memcpy(dst + b * n, src + b * n, n * sizeof(float));
}

// bf16 precision runs in the fused loops only (their bf16 panels); never fall back to fp32 silently.
void check_precision(const DirShape& s, bool fused) {
  if (s.precision != Precision::bf16) return;
  RC_CHECK(cpu_has_avx512_bf16(), "precision", "bf16 needs a CPU with AVX512_BF16; this one has none (use fp32)");
  RC_CHECK(fused && bf16_target(s.engine.target), "precision",
           "bf16 runs only in the fused loops on the avx512 target, which are off here (target ",
           simd::target_name(s.engine.target), fused ? "" : ", fused loops off", "); use fp32");
}

// Recurrent dropout and zoneout (DirParams) run in the fused loops and the reference only: never skipped silently.
void check_regularisers(const DirParams& p, bool fused) {
  RC_CHECK(fused || !has_regularisers(p), "--recurrent-dropout/--zoneout",
           "recurrent dropout and zoneout run in the fused loops only, which are off here (RECURRENT_RNN_FUSED=0, "
           "or the gradient lab's per-step norms); turn them on or drop the option");
}

// bf16 precision, after the loop: dX = dA·W_ih and the weight gradients dW_ih = dAᵀ·X, dW_hh = dA'ᵀ·H_prev,
// dW_hr = dHᵀ·M with bf16 operands and fp32 accumulation (oneDNN bf16 matmul, kernels/gemm_bf16.h); each
// fp32 operand converted once (dA feeds dX, dW_ih and dW_hh). Buffers as in backward() below.
void backward_products_bf16(const DirShape& s, const DirParams& p, const float* x, const float* da, const float* dgh,
                            const float* hprev, const float* EX, const float* dhs, float* dx, const DirGrads& g) {
  const int64_t TB = s.T * s.B, H = s.H, R = s.R, GH = s.G() * H, I = s.I;
  const Cell& cell = cell_of(s.cell);
  const int64_t HG = cell.h_gates * H;  // W_hh rows that see h_prev (the rest see the tape's extra)
  const Bf16Matrix dab = (dx || g.w_ih || (g.w_hh && dgh == da)) ? Bf16Matrix(TB, GH, da, GH) : Bf16Matrix();
  if (dx) {
    const Bf16Matrix w(GH, I, p.w_ih, I);
    matmul_bf16(dab.view(), w.view(), 1.0f, dx, I);
  }
  if (g.w_ih) {
    const Bf16Matrix xb(TB, I, x, I);
    matmul_bf16(dab.view().t(), xb.view(), 1.0f, g.w_ih, I);
  }
  if (g.w_hh) {
    const Bf16Matrix hb(TB, R, hprev, R);
    if (cell.two_phase()) {  // Cho: W_h[r,z] sees h_prev, W_hn sees r ⊙ h_prev
      matmul_bf16(dab.view().columns(0, HG).t(), hb.view(), 1.0f, g.w_hh, R);
      const Bf16Matrix ex(TB, H, EX, H);
      matmul_bf16(dab.view().columns(HG, GH - HG).t(), ex.view(), 1.0f, g.w_hh + HG * R, H);
    } else if (dgh != da) {  // h side apart (GRU): its own gradients
      const Bf16Matrix dgb(TB, GH, dgh, GH);
      matmul_bf16(dgb.view().t(), hb.view(), 1.0f, g.w_hh, R);
    } else {
      matmul_bf16(dab.view().t(), hb.view(), 1.0f, g.w_hh, R);
    }
  }
  if (dhs && g.w_hr) {
    const Bf16Matrix dhb(TB, R, dhs, R), mb(TB, H, EX, H);
    matmul_bf16(dhb.view().t(), mb.view(), 1.0f, g.w_hr, H);
  }
}

// A[T*B, GH] = broadcast bias (b_ih, plus b_hh where the cell adds it before any product with r).
void init_gates_with_bias(const DirShape& s, const DirParams& p, float* a) {
  const int64_t GH = s.G() * s.H, rows = s.T * s.B;
  std::vector<float> bias(GH, 0.0f);
  const bool hh_inside = cell_of(s.cell).h_apart >= 0;  // b_hh added in the gate pass (GRU: inside r ⊙ (W_hn h + b_hn))
  for (int64_t j = 0; j < GH; ++j) {
    if (p.b_ih) bias[j] += p.b_ih[j];
    if (p.b_hh && !hh_inside) bias[j] += p.b_hh[j];
  }
#pragma omp parallel for schedule(static) if (rows * GH >= (1 << 20))
  for (int64_t r = 0; r < rows; ++r) std::memcpy(a + r * GH, bias.data(), GH * sizeof(float));
}

// The recurrent weights of one direction, packed once per call (pack_b) for the per-step
// products; every step of the sequence then multiplies by the same packed matrix. HG = h_gates·H rows of
// W_hh multiply h_{t-1} (all G·H, or Cho's r, z); the rest (n) multiply the tape's extra (r ⊙ h_{t-1}).
//   forward:  main [R, HG] = W_hh[0:HG]ᵀ, n [H, GH-HG] = W_hh[HG:]ᵀ (two-phase cells), hr [H, R] = W_hrᵀ (projection)
//   backward: main [HG, R] = W_hh[0:HG], n [GH-HG, H] = W_hh[HG:], hr [R, H] = W_hr
struct PackedStep {
  PackedMatrix main, n, hr;
};

PackedStep pack_forward(const DirShape& s, const DirParams& p) {
  const Cell& cell = cell_of(s.cell);
  const int64_t H = s.H, R = s.R, GH = s.G() * H, HG = cell.h_gates * H;
  PackedStep w;
  w.main = pack_b(p.w_hh, R, HG, Trans::T, R);
  if (cell.two_phase()) w.n = pack_b(p.w_hh + HG * R, H, GH - HG, Trans::T, H);
  if (projected(cell, H, R)) w.hr = pack_b(p.w_hr, H, R, Trans::T, H);
  return w;
}

PackedStep pack_backward(const DirShape& s, const DirParams& p) {
  const Cell& cell = cell_of(s.cell);
  const int64_t H = s.H, R = s.R, GH = s.G() * H, HG = cell.h_gates * H;
  PackedStep w;
  w.main = pack_b(p.w_hh, HG, R, Trans::N, R);
  if (cell.two_phase()) w.n = pack_b(p.w_hh + HG * R, GH - HG, H, Trans::N, H);
  if (projected(cell, H, R)) w.hr = pack_b(p.w_hr, R, H, Trans::N, H);
  return w;
}

// The per-step path's gate/state pass of one phase over the B rows of a step (rows split by OpenMP): the
// cell's rows one at a time, the SIMD ones where the cell says so (Cell::step_simd). valid (or null):
// padded rows are skipped, their c_t carried (h_t: carry_rows after the step).
void step_rows_forward(const Cell& cell, void (*rows)(const simd::RnnKernels*, const FwdRows&),
                       const simd::RnnKernels& k, const FwdRows& r, const uint8_t* valid) {
  const simd::RnnKernels* kk = cell.step_simd ? &k : nullptr;
#pragma omp parallel for schedule(static) if (r.M * r.H >= 8192)
  for (int64_t b = 0; b < r.M; ++b) {
    if (valid && !valid[b]) {
      if (r.c) std::memcpy(r.c + b * r.H, r.cp + b * r.H, r.H * sizeof(float));
      continue;
    }
    rows(kk, r.row(b));
  }
}

// y_t: h_t on valid steps, 0 on padding (or += for sum-merge). hn [B, R], y rows ldy apart.
void store_y_step(int64_t B, int64_t R, const uint8_t* valid, const float* hn, float* yt, int64_t ldy, bool accumulate) {
  for (int64_t b = 0; b < B; ++b) {
    float* yr = yt + b * ldy;
    bool ok = !valid || valid[b];
    if (accumulate) {
      if (ok)
        for (int64_t j = 0; j < R; ++j) yr[j] += hn[b * R + j];
    } else if (ok) {
      std::memcpy(yr, hn + b * R, R * sizeof(float));
    } else {
      std::memset(yr, 0, R * sizeof(float));
    }
  }
}

// The per-step loop on oneDNN (packed W_hh) and the cell's rows: every cell and option, on any CPU.
// Buffers as in fused_forward_loop (rnn_direction.h); A holds X W_ihᵀ + biases (init_gates_with_bias).
// Per step: a_t += h_{t-1} W_hh[0:HG]ᵀ (h side apart: gh = h_{t-1} W_hhᵀ), phase 1; two-phase cells:
// a_t[HG:] += ex_t W_hh[HG:]ᵀ, phase 2; projection: h_t = m_t W_hrᵀ; padded rows keep h_{t-1}.
void step_loop_forward(const DirShape& s, const DirParams& p, const uint8_t* valid_all, float* A, float* HS, float* CS,
                       float* EX, float* y, int64_t ldy, bool accumulate) {
  const Cell& cell = cell_of(s.cell);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, GH = s.G() * H, HG = cell.h_gates * H;
  const bool proj = projected(cell, H, R);
  const int rev = s.reverse ? 1 : 0;
  Tensor gh_buf = cell.h_apart >= 0 ? Tensor({B, GH}) : Tensor();
  const PackedStep w = pack_forward(s, p);
  const simd::RnnKernels& k = simd::rnn_kernels(s.engine.target);
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    float* at = A + t * B * GH;
    const float* hp = HS + (t + rev) * B * R;
    float* hn = HS + (t + 1 - rev) * B * R;
    const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
    float* ex = EX ? EX + t * B * H : nullptr;
    if (gh_buf.defined()) {
      gemm_packed(B, hp, R, w.main, 0.0f, gh_buf.data(), GH);
    } else {
      gemm_packed(B, hp, R, w.main, 1.0f, at, GH);
    }
    const FwdRows r{.M = B,
                    .n = H,
                    .H = H,
                    .a = at,
                    .lda = GH,
                    .gh = gh_buf.defined() ? gh_buf.data() : nullptr,
                    .folded = false,
                    .bias = nullptr,
                    .b_hh = cell.h_apart >= 0 ? p.b_hh : nullptr,
                    .peep = p.w_ch,
                    .hp = hp,
                    .h = proj ? ex : hn,  // m_t with a projection (the tape's extra)
                    .cp = CS ? CS + (t + rev) * B * H : nullptr,
                    .c = CS ? CS + (t + 1 - rev) * B * H : nullptr,
                    .ex = ex};
    // A two-phase cell's phase 1 runs on every row (nothing reads a padded row's gates or extra).
    step_rows_forward(cell, cell.forward, k, r, cell.two_phase() ? nullptr : valid);
    if (cell.two_phase()) {
      gemm_packed(B, ex, H, w.n, 1.0f, at + HG, GH);  // Cho: n += W_hn (r ⊙ h)
      step_rows_forward(cell, cell.forward2, k, r, valid);
    }
    if (proj) gemm_packed(B, ex, H, w.hr, 0.0f, hn, R);  // h = W_hr m
    carry_rows(B, R, valid, hp, hn);
    store_y_step(B, R, valid, hn, y + t * B * ldy, ldy, accumulate);
  }
}

// The per-step path's gate/state backward of one phase over the B rows of a step: the cell's rows one at
// a time (rows split by OpenMP unless the rows add into the shared peephole gradients). Padded rows
// (phase 1): no gate gradient, dh passes through unchanged (dhp = dh). dh, dhp [B, R]; with a projection
// the cell reads dm [B, H] and writes no dhp (0 on valid rows).
void step_rows_backward(const Cell& cell, void (*rows)(const simd::RnnKernels*, const BwdRow&),
                        const simd::RnnKernels& k, const BwdRow& r, int64_t B, int64_t R, const float* dh, bool proj,
                        const uint8_t* valid, bool phase2) {
  const simd::RnnKernels* kk = cell.step_simd ? &k : nullptr;
  const int64_t H = r.H, GH = cell.gates * H;
  const auto at = [](auto* p, int64_t off) { return p ? p + off : p; };
#pragma omp parallel for schedule(static) if (!r.dpeep && B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    const bool ok = !valid || valid[b];
    if (phase2) {
      if (ok) rows(kk, {.n = H, .H = H, .a = r.a + b * GH, .da = r.da + b * GH, .dgh = nullptr, .hp = r.hp + b * H,
                        .cp = nullptr, .c = nullptr, .ex = nullptr, .dh = nullptr, .dc = nullptr,
                        .dhp = r.dhp + b * H, .peep = nullptr, .dpeep = nullptr, .dex = r.dex + b * H});
      continue;
    }
    if (!ok) {
      std::memset(r.da + b * GH, 0, GH * sizeof(float));
      if (r.dgh) std::memset(r.dgh + b * GH, 0, GH * sizeof(float));
      std::memcpy(r.dhp + b * R, dh + b * R, R * sizeof(float));
      continue;
    }
    rows(kk, {.n = H, .H = H, .a = r.a + b * GH, .da = r.da + b * GH, .dgh = at(r.dgh, b * GH), .hp = r.hp + b * H,
              .cp = at(r.cp, b * H), .c = at(r.c, b * H), .ex = at(r.ex, b * H), .dh = r.dh + b * H,
              .dc = at(r.dc, b * H), .dhp = proj ? nullptr : r.dhp + b * H, .peep = r.peep, .dpeep = r.dpeep,
              .dex = nullptr});
    if (proj) std::memset(r.dhp + b * R, 0, R * sizeof(float));
  }
}

}  // namespace

std::vector<uint8_t> valid_mask(int64_t T, const std::vector<int64_t>& lengths) {
  bool full = true;
  for (int64_t l : lengths) full = full && l == T;
  if (full) return {};
  const int64_t B = static_cast<int64_t>(lengths.size());
  std::vector<uint8_t> v(T * B);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) v[t * B + b] = t < lengths[b];
  return v;
}

int64_t DirTape::bytes() const {
  int64_t n = 0;
  for (const Tensor* t : {&a, &hs, &cs, &extra, &hd, &nx, &nh, &ln_stats, &bn_batch})
    if (t->defined()) n += t->numel();
  return n * 4 + static_cast<int64_t>(valid.size());
}

// ---- forward -----------------------------------------------------------------------------------

void forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
             const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape,
             bool keep_tape) {
  if (is_layer_norm(s.cell)) return ln_forward(s, p, x, valid_all, h0, c0, y, ldy, accumulate, h_n, c_n, tape);
  if (is_batch_norm(s.cell))  // the fp32 loop, or (fused loops off) the double one: no per-step path for it
    return (s.engine.fused < 0 ? bn_forward : bn_fused_forward)(s, p, x, valid_all, h0, c0, y, ldy, accumulate, h_n,
                                                                c_n, tape);
  const Cell& cell = cell_of(s.cell);
  if (cell.scan) return scan_forward(s, p, x, valid_all, h0, y, ldy, accumulate, h_n, tape);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H;
  const bool lstm = cell.cell_state, proj = projected(cell, H, R);
  const int rev = s.reverse ? 1 : 0;
  const bool fused = fused_supported(s);
  check_precision(s, fused);
  check_regularisers(p, fused);
  // The fused loops write every row of every step of A (the x-projection below, beta = 0, or the loop itself when folded), HS and
  // CS (slot rev·T: h0 / c0 or zeros, below): no need to zero tens of MB first (a serial memset,
  // ~2% of an LSTM training step on 1 thread, the other thread idle meanwhile on 2).
  const auto buffer = [fused](Shape shape) { return fused ? Tensor::uninitialized(std::move(shape)) : Tensor(std::move(shape)); };
  // Inference (no tape): the fused loop writes h_t straight into y and keeps two c slots
  // (fused_forward_loop's light mode), when y is [T, B, R] written whole.
  const bool light = fused && !keep_tape && !accumulate && !valid_all && ldy == R && !p.rmask;
  // The x-projection inside the loop's steps (rnn_fused.cpp "Input folded"): A is then filled there,
  // and without a tape holds one step.
  const bool fold = fused && fold_input(s);
  const int64_t h0slot = light ? 0 : rev * T, c0slot = light ? (rev * T) % 2 : rev * T;
  tape.a = buffer({fold && light ? 1 : T, B, GH});
  tape.hs = buffer({light ? 1 : T + 1, B, R});
  if (lstm) tape.cs = buffer({light ? 2 : T + 1, B, H});
  // An extra kept only for backward (gru's W_hn h + b_hn): without a tape the fused loop reuses one step's rows.
  if (cell.extra == Extra::backward) tape.extra = light ? buffer({1, B, H}) : Tensor({T, B, H});
  if (cell.extra == Extra::in_step) tape.extra = Tensor({T, B, H});
  if (proj) tape.extra = buffer({T, B, H});  // m: the fused loop writes every row (0 on padded ones)
  if (p.rmask) tape.hd = buffer({T + 1, B, R});  // the loop writes every slot but h0's (below)
  float* A = tape.a.data();
  float* HS = tape.hs.data();
  float* CS = lstm ? tape.cs.data() : nullptr;
  float* EX = tape.extra.defined() ? tape.extra.data() : nullptr;
  if (fused && s.precision == Precision::bf16) {  // the same in bf16 (fp32 accumulation)
    gemm_bf16(Trans::T, T * B, GH, s.I, x, s.I, p.w_ih, s.I, 0.0f, A, GH);
  } else if (fold) {  // the loop computes X W_ihᵀ step by step
  } else if (fused) {  // A = X W_ihᵀ: all steps at once; the fused gate pass adds the biases
    gemm_nt(T * B, GH, s.I, x, s.I, p.w_ih, s.I, 0.0f, A, GH);
  } else {  // A = bias + X W_ihᵀ
    init_gates_with_bias(s, p, A);
    gemm_nt(T * B, GH, s.I, x, s.I, p.w_ih, s.I, 1.0f, A, GH);
  }
  if (h0) {
    std::memcpy(HS + h0slot * B * R, h0, B * R * sizeof(float));
  } else {
    std::memset(HS + h0slot * B * R, 0, B * R * sizeof(float));
  }
  if (p.rmask)
    for (int64_t i = 0; i < B * R; ++i) tape.hd.data()[h0slot * B * R + i] = HS[h0slot * B * R + i] * p.rmask[i];
  if (lstm && c0) {
    std::memcpy(CS + c0slot * B * H, c0, B * H * sizeof(float));
  } else if (lstm) {
    std::memset(CS + c0slot * B * H, 0, B * H * sizeof(float));
  }
  if (fused) {
    fused_forward_loop(s, p, valid_all, A, HS, CS, EX, y, ldy, accumulate, light, fold ? x : nullptr,
                       p.rmask ? tape.hd.data() : nullptr);
  } else {
    step_loop_forward(s, p, valid_all, A, HS, CS, EX, y, ldy, accumulate);
  }

  const int64_t last = s.reverse ? 0 : T;  // the state after the last step (slots: rnn_direction.h)
  const float* hlast = light ? y + (s.reverse ? 0 : (T - 1) * B * R) : HS + last * B * R;
  if (h_n) std::memcpy(h_n, hlast, B * R * sizeof(float));
  if (c_n && lstm) std::memcpy(c_n, CS + (light ? last % 2 : last) * B * H, B * H * sizeof(float));
  if (valid_all) tape.valid.assign(valid_all, valid_all + T * B);
}

// ---- backward through time -----------------------------------------------------------------------

namespace {
// The per-step BPTT loop (oneDNN products + the cell's rows; the gradient lab's per-step norms are taken
// here). dA [T, B, GH] holds the tape's activations and receives the gate gradients over them; dGh (h side
// apart) [T, B, GH] the h side's; dHs (projection) [T, B, R] dL/dh_t of every step. dh holds dL/dh_T and
// dc dL/dc_T; returns the buffer (dh or dhp, swapped every step) that holds dL/dh0, dc then dL/dc0.
float* step_loop_backward(const DirShape& s, const DirParams& p, const DirTape& tape, const float* dy, int64_t ldy,
                          float* dA, float* dGh, float* dHs, Tensor& dh, Tensor& dhp, Tensor& dc, float* dpeep,
                          const DirGrads& g) {
  const Cell& cell = cell_of(s.cell);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, GH = s.G() * H, HG = cell.h_gates * H;
  const bool proj = projected(cell, H, R);
  const int rev = s.reverse ? 1 : 0;
  const float* HS = tape.hs.data();
  const float* CS = tape.cs.defined() ? tape.cs.data() : nullptr;
  const float* EX = tape.extra.defined() ? tape.extra.data() : nullptr;
  const uint8_t* valid_all = tape.valid.empty() ? nullptr : tape.valid.data();
  const PackedStep w = pack_backward(s, p);
  const simd::RnnKernels& k = simd::rnn_kernels(s.engine.target);
  Tensor dm = proj ? Tensor({B, H}) : Tensor();                   // dL/dm_t = dh_t W_hr
  Tensor dex = cell.two_phase() ? Tensor({B, H}) : Tensor();      // Cho: dL/d(r ⊙ h_prev) = da_n W_hn
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    float* dat = dA + t * B * GH;  // a_t in, da_t out
    const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
    float* dhv = dh.data();
    if (dy)  // dL/dh_t += dL/dy_t on valid steps (padding outputs are constants)
      for (int64_t b = 0; b < B; ++b)
        if (!valid || valid[b])
          for (int64_t j = 0; j < R; ++j) dhv[b * R + j] += dy[(t * B + b) * ldy + j];
    if (g.dh_norm) row_norms(B, R, dhv, g.dh_norm + t * B);
    if (g.dc_norm && CS) row_norms(B, H, dc.data(), g.dc_norm + t * B);
    const float* dmv = dhv;
    if (proj) {  // h = W_hr m: dm = dh W_hr; keep dh_t for dW_hr
      std::memcpy(dHs + t * B * R, dhv, B * R * sizeof(float));
      gemm_packed(B, dhv, R, w.hr, 0.0f, dm.data(), H);
      dmv = dm.data();
    }
    float* dgt = dGh ? dGh + t * B * GH : dat;  // the rows that multiply W_hh
    const BwdRow r{.n = H,
                   .H = H,
                   .a = dat,
                   .da = dat,
                   .dgh = dGh ? dgt : nullptr,
                   .hp = HS + (t + rev) * B * R,
                   .cp = CS ? CS + (t + rev) * B * H : nullptr,
                   .c = CS ? CS + (t + 1 - rev) * B * H : nullptr,
                   .ex = EX ? EX + t * B * H : nullptr,
                   .dh = dmv,
                   .dc = CS ? dc.data() : nullptr,
                   .dhp = dhp.data(),
                   .peep = p.w_ch,
                   .dpeep = dpeep,
                   .dex = dex.defined() ? dex.data() : nullptr};
    step_rows_backward(cell, cell.backward, k, r, B, R, dhv, proj, valid, false);
    if (cell.two_phase()) {
      gemm_packed(B, dat + HG, GH, w.n, 0.0f, dex.data(), H);  // d ex = da[:, HG:] W_hh[HG:]
      step_rows_backward(cell, cell.backward2, k, r, B, R, dhv, proj, valid, true);
    }
    gemm_packed(B, dgt, GH, w.main, 1.0f, dhp.data(), R);  // dh_{t-1} += da[:, :HG] W_hh[:HG]
    std::swap(dh, dhp);
  }
  return dh.data();
}

// After the loop: dX, the weight gradients (all steps at once) and the bias gradients. da [T·B, GH]; dgh
// the rows W_hh sees (dGh, or da); dbias / dbias_hh: the sums the fused loop took (loop_bias), else empty.
void backward_products(const DirShape& s, const DirParams& p, const float* x, const DirTape& tape, const float* da,
                       const float* dgh, const float* dHs, const std::vector<double>& dbias,
                       const std::vector<double>& dbias_hh, float* dx, const DirGrads& g) {
  const Cell& cell = cell_of(s.cell);
  const int64_t TB = s.T * s.B, H = s.H, R = s.R, GH = s.G() * H, HG = cell.h_gates * H;
  const float* EX = tape.extra.defined() ? tape.extra.data() : nullptr;
  // slots [rev, T + rev): every step's h_{t-1} (recurrent dropout: h_{t-1} ⊙ rmask, what W_hh saw)
  const float* hprev = (tape.hd.defined() ? tape.hd : tape.hs).data() + (s.reverse ? 1 : 0) * s.B * R;
  const bool bf16 = s.precision == Precision::bf16;
  if (bf16) {  // dX and every weight gradient (dW_hh, dW_hr too) with bf16 operands
    backward_products_bf16(s, p, x, da, dgh, hprev, EX, dHs, dx, g);
  } else {
    if (dx) gemm_nn(TB, s.I, GH, da, GH, p.w_ih, s.I, 1.0f, dx, s.I);
    if (g.w_ih) gemm_tn(GH, s.I, TB, da, GH, x, s.I, g.w_ih, s.I);
  }
  if (!dbias.empty()) {
    for (int64_t j = 0; j < GH; ++j) {
      if (g.b_ih) g.b_ih[j] += static_cast<float>(dbias[j]);
      if (g.b_hh) g.b_hh[j] += static_cast<float>(dbias_hh.empty() ? dbias[j] : dbias_hh[j]);
    }
  } else if (dgh == da && g.b_ih && g.b_hh) {  // one pass over dA for both bias gradients
    add_colsum(TB, GH, da, GH, g.b_ih, g.b_hh);
  } else {
    if (g.b_ih) add_colsum(TB, GH, da, GH, g.b_ih);
    if (g.b_hh) add_colsum(TB, GH, dgh, GH, g.b_hh);
  }
  if (g.w_hh && !bf16) {
    gemm_tn(HG, R, TB, dgh, GH, hprev, R, g.w_hh, R);  // W_hh[:HG] sees h_prev
    if (cell.two_phase()) gemm_tn(GH - HG, H, TB, da + HG, GH, EX, H, g.w_hh + HG * R, H);  // Cho's W_hn: r ⊙ h_prev
  }
  if (dHs && g.w_hr && !bf16) gemm_tn(R, H, TB, dHs, R, EX, H, g.w_hr, H);
}
}  // namespace

void backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
              int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
              const DirGrads& g) {
  if (is_layer_norm(s.cell)) return ln_backward(s, p, x, tape, dy, ldy, dh_n, dc_n, dx, dh0, dc0, g);
  if (is_batch_norm(s.cell))  // the forward's engine (tape.bn: the double one)
    return (tape.bn ? bn_backward : bn_fused_backward)(s, p, x, tape, dy, ldy, dh_n, dc_n, dx, dh0, dc0, g);
  const Cell& cell = cell_of(s.cell);
  if (cell.scan) return scan_backward(s, p, x, tape, dy, ldy, dh_n, dx, dh0, g);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H;
  const bool lstm = cell.cell_state, proj = projected(cell, H, R), apart = cell.h_apart >= 0;
  // Pre-activation grads of all steps, [T, B, GH], written over the activations A in the tape: step
  // t's kernels read a_t before writing da_t element by element, and no later step reads a_t again.
  // Saves 4·G·H bytes per token at the peak of backward (the tape is spent after this call).
  Tensor& dA = tape.a;
  // The gradient lab's per-step norms are recorded by the per-step loop only.
  const bool fused = fused_supported(s) && !g.dh_norm && !g.dc_norm;
  // The h side's own grads (GRU: differ in n): the fused loop writes every element (0 on padded rows), so
  // no zeroing of [T, B, 3H] first (~2% of a GRU training step).
  Tensor dGh = !apart ? Tensor() : fused ? Tensor::uninitialized({T, B, GH}) : Tensor({T, B, GH});
  Tensor dHs = proj ? Tensor({T, B, R}) : Tensor();                    // dL/dh_t, for dW_hr
  Tensor dh({B, R}), dhp({B, R}), dc({B, H});
  Tensor peep_sink = (p.w_ch && !g.w_ch) ? Tensor({3, H}) : Tensor();  // peephole grads nobody asked for
  float* dpeep = p.w_ch ? (g.w_ch ? g.w_ch : peep_sink.data()) : nullptr;
  RC_CHECK(s.precision != Precision::bf16 || (!g.dh_norm && !g.dc_norm), "precision",
           "the gradient lab's per-step norms are recorded by the fp32 per-step loop only; use precision fp32");
  check_precision(s, fused);
  check_regularisers(p, fused);
  RC_CHECK(p.zoneout == 0.0f || p.zmask, "--zoneout",
           "backward through an evaluation-mode forward with zoneout (its expectation) is not supported; "
           "train in training mode");
  if (dh_n) std::memcpy(dh.data(), dh_n, B * R * sizeof(float));
  if (lstm && dc_n) std::memcpy(dc.data(), dc_n, B * H * sizeof(float));

  // Bias gradients summed inside the fused loop where dA (and dGh, which b_hh sees) is final after the
  // gate block (not in two-phase cells: Cho's da_r comes later in the step).
  const bool loop_bias = fused && (g.b_ih || g.b_hh) && !cell.two_phase();
  std::vector<double> dbias(loop_bias ? GH : 0, 0.0), dbias_hh(loop_bias && apart ? GH : 0, 0.0);
  float* dGhp = apart ? dGh.data() : nullptr;
  float* dHsp = proj ? dHs.data() : nullptr;
  const float* dh_final =
      fused ? fused_backward_loop(s, p, tape, dy, ldy, dA.data(), dGhp, dh.data(), dhp.data(), dc.data(), dpeep,
                                  loop_bias ? dbias.data() : nullptr, dHsp, loop_bias && apart ? dbias_hh.data() : nullptr)
            : step_loop_backward(s, p, tape, dy, ldy, dA.data(), dGhp, dHsp, dh, dhp, dc, dpeep, g);
  if (dh0) std::memcpy(dh0, dh_final, B * R * sizeof(float));
  if (dc0 && lstm) std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  backward_products(s, p, x, tape, dA.data(), apart ? dGhp : dA.data(), dHsp, dbias, dbias_hh, dx, g);
}

}  // namespace recurrent::rnn
