// The fused AVX-512 time loops of one direction (every cell: LSTM with or without peephole and
// projection; GRU linear-before-reset and Cho's; simplified GRU; RNN tanh / ReLU): the per-step recurrent
// product and the gate/state pass run together, on the hidden units each thread owns, inside ONE OpenMP
// parallel region per sequence.
//
// Dimension legend as in rnn_direction.h (T, B, H, R, G). Work split (nt = threads):
//   hidden units are cut in blocks of 32 (nb = ⌈H/32⌉); thread k owns blocks [nb·k/nt, nb·(k+1)/nt).
//   forward, per step:  for each owned block, the G gate panels of h_{t-1} · W_hhᵀ (one 32-column
//                       panel each, written into that block's columns of a_t; with the input folded,
//                       [x_t | h_{t-1}] · [W_ih ; W_hh]ᵀ, see "Input folded"), then the gate/state
//                       pass of the block's units for all B rows, then y_t; ONE barrier per step
//                       (h_t must be complete before any thread starts step t+1's product).
//   backward, per step: gate/state backward of the owned units (→ dA_t columns, dc, dpeep), barrier
//                       (dA_t complete), then dh_{t-1}[:, owned units] += dA_t · W_hh[:, owned units]:
//                       the same thread owns the same units in both halves, so ONE barrier per step.
//   GRU (Cho) needs every column of r ⊙ h_{t-1} before the n product: its forward step is two
//   phases (r, z, rh | n, h) and its backward three (n, z | drh = da_n W_hn, r | dh_{t-1}), one sync
//   between phases, so 2 syncs per step each way.
//   LSTM with projection (h = W_hr m, R < H columns of h cut in nr = ⌈R/32⌉ blocks of their own):
//   forward two phases (gates, c, m of the owned H blocks | h of the owned R blocks = m · W_hrᵀ), backward
//   three (dh_t += dy_t of the owned R blocks | dm = dh_t W_hr, gate backward of the owned H blocks |
//   dh_{t-1} of the owned R blocks), 2 syncs per step each way (the last phase and the next step's first
//   touch the same R blocks on the same thread).
//   The barrier is StepTeam::sync (rnn_team.h): spin briefly, then sleep; when a partner turns out to
//   be descheduled (an oversubscribed machine), the team goes solo: thread 0 takes every block of the
//   remaining steps (bitwise the same result) and the others leave.
// Packed weights (built once per call, [panel][K][32], zero-padded past the last column):
//   forward panel (jb, g) = W_hh[g·H + 32·jb + c, k]ᵀ, K = R (input folded: W_ih rows on top, K = I + R)
//   backward panel jb = W_hh[k, 32·jb + c], K = G·H
//   projection: forward panel jr = W_hr[32·jr + c, k]ᵀ, K = H    backward panel jb = W_hr[k, 32·jb + c], K = R
// No allocation inside the time loop; the big GEMMs before (X·W_ihᵀ, unless folded) and after stay in
// rnn_direction.cpp.
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels/avx512/cells.h"
#include "kernels/avx512/pack512.h"
#include "kernels/avx512/panel_bf16.h"
#include "nn/rnn_direction.h"
#include "nn/rnn_team.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent::rnn {

namespace {
constexpr int64_t kP = avx512::kPanel;

int64_t blocks(int64_t H) { return (H + kP - 1) / kP; }

// Panels are packed by the thread that owns their blocks, inside the team, so each core's half
// of W_hh lands in its own L2 (at B = 1 the step streams it from there).
// w: [G·N, K] (G gate matrices of N rows). Out [nb·G, K, 32]: panel (jb, g) row k, column c =
// w[g·N + jb·32 + c, k]; blocks [jb0, jb1). (W_hh: N = H, K = R; W_hr: G = 1, N = R, K = H.)
void pack_forward_panels(const float* w, int64_t G, int64_t N, int64_t K, int64_t jb0, int64_t jb1, float* out) {
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g)
      avx512::pack_rows_transposed(w + (g * N + jb * kP) * K, K, std::min(kP, N - jb * kP), K,
                                   out + (jb * G + g) * K * kP);
}

// Input folded (fold_input): panel (jb, g) is [W_ih rows ; W_hh rows] of the block's units, K = I + R:
// rows [0, I) = w_ih[g·N + jb·32 + c, k], rows [I, I + R) = w_hh[g·N + jb·32 + c, k]; blocks [jb0, jb1).
void pack_folded_panels(const float* w_ih, int64_t I, const float* w_hh, int64_t G, int64_t N, int64_t R,
                        int64_t jb0, int64_t jb1, float* out) {
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t row0 = g * N + jb * kP, nrows = std::min(kP, N - jb * kP);
      float* panel = out + (jb * G + g) * (I + R) * kP;
      avx512::pack_rows_transposed(w_ih + row0 * I, I, nrows, I, panel);
      avx512::pack_rows_transposed(w_hh + row0 * R, R, nrows, R, panel + I * kP);
    }
}

// w: [K, N]. Out [nb, K, 32]: panel jb row k, column c = w[k, jb·32 + c] (0 past N); blocks [jb0, jb1).
// (W_hh: K = G·H, N = R; W_hr: K = R, N = H.)
void pack_backward_panels(const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, float* out) {
  for (int64_t jb = jb0; jb < jb1; ++jb) {
    const int64_t n = std::min(kP, N - jb * kP);
    for (int64_t k = 0; k < K; ++k) {
      float* o = out + (jb * K + k) * kP;
      std::memcpy(o, w + k * N + jb * kP, n * sizeof(float));
      if (n < kP) std::memset(o + n, 0, (kP - n) * sizeof(float));
    }
  }
}

bool projected(const DirShape& s) { return is_lstm(s.cell) && s.R != s.H; }

// Forward loops of the one-phase cells (every cell but Cho's GRU and the LSTM with projection) can
// split the batch instead of the hidden units: each thread runs its own rows through every step
// with the whole W_hh (from L2/L3), and the threads never meet inside the loop. Split points are
// multiples of 8 rows, so every row lands in the same 8-row register block of the panel GEMM as
// with one thread: results are bitwise those of the unit split. Chosen when each thread gets ≥ 16
// rows (the whole W_hh read per 16+ rows per step: ≤ 1/8 byte per FLOP from L3), or ≥ 8 rows when
// W_hh fits in half an L2 (512 KiB). RECURRENT_RNN_SPLIT=units|rows forces one (measurements).
void row_span(int64_t B, int tid, int n, int64_t& r0, int64_t& r1) {
  const int64_t blocks8 = B / 8;
  r0 = 8 * (blocks8 * tid / n);
  r1 = tid + 1 == n ? B : 8 * (blocks8 * (tid + 1) / n);
}

// A forced choice from the environment: 1 when `name` is `on`, -1 when `off`, else 0 (the rule decides).
int env_choice(const char* name, const char* on, const char* off) {
  const char* e = std::getenv(name);
  return !e ? 0 : std::strcmp(e, on) == 0 ? 1 : std::strcmp(e, off) == 0 ? -1 : 0;
}

std::atomic<int> g_split{env_choice("RECURRENT_RNN_SPLIT", "rows", "units")};

std::atomic<int64_t> g_split_runs[2];  // tests: forward teams (≥ 2 threads) that split [0] units, [1] rows

// `forced` is g_split read once per call (fused_forward_loop), so every member decides alike.
bool split_forward_by_rows(const DirShape& s, int n, int forced) {
  if (s.cell == CellType::gru_cho || projected(s)) return false;
  if (n <= 1 || s.B < 8 * n) return false;
  if (forced != 0) return forced > 0;
  const int64_t whh_bytes = 4 * s.G() * s.H * s.R;
  return s.B >= 16 * n || whh_bytes <= (512 << 10);
}

// Input folded into the step: the one-phase cells in fp32 (every cell but Cho's GRU and the LSTM with
// projection) compute x_t W_ihᵀ inside the loop, in the same panel accumulation as h_{t-1} W_hhᵀ
// (panel_gemm2 over [x_t | h_{t-1}], panels [W_ih ; W_hh]ᵀ), instead of one big X·W_ihᵀ GEMM before
// it: the gates never travel to memory and back ([T, B, G·H] written, then read a step at a time),
// and without a tape A shrinks to one step. Taken when B ≥ 8 (a full register block; at B = 1 the
// big GEMM before the loop keeps the per-step latency down). RECURRENT_RNN_FOLD=0|1 forces it off/on.
std::atomic<int> g_fold{env_choice("RECURRENT_RNN_FOLD", "1", "0")};

// ---- bf16 precision (DirShape::precision; docs/engine.md "bf16") ---------------------------------
// The same loops and panels, with bf16 panels [Kp/2][32][2] (panel_bf16.h) packed from the fp32
// weights, and each thread converting the left operand of a phase (h_{t-1}, r ⊙ h_{t-1}, m_t, dh_t,
// dA_t) to bf16 once, into its own scratch, before the phase's products. Gates, states and all
// elementwise work stay fp32.

// An uninitialised, 64-byte aligned bf16 buffer (panels, operands), allocated before the time loop.
struct Bf16Buf {
  Tensor t;  // ⌈elems/2⌉ floats holding the bf16 values: 64-byte aligned, from the storage cache (as Bf16Matrix)
  uint16_t* p = nullptr;
  explicit Bf16Buf(int64_t elems) {
    if (elems <= 0) return;
    t = Tensor::uninitialized({(elems + 1) / 2});
    p = reinterpret_cast<uint16_t*>(t.data());
  }
};

// bf16 forward panels, as pack_forward_panels (an fp32 panel first, then pairs); panel i at
// out + i·panel_bf16_elems(K).
void pack_forward_panels_bf16(const float* w, int64_t G, int64_t N, int64_t K, int64_t jb0, int64_t jb1,
                              uint16_t* out) {
  if (jb0 >= jb1) return;
  Tensor tmp = Tensor::uninitialized({K, kP});
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g) {
      avx512::pack_rows_transposed(w + (g * N + jb * kP) * K, K, std::min(kP, N - jb * kP), K, tmp.data());
      avx512::pack_pairs_bf16(K, kP, tmp.data(), kP, out + (jb * G + g) * avx512::panel_bf16_elems(K));
    }
}

// bf16 backward panels, as pack_backward_panels: panel jb at out + jb·panel_bf16_elems(K).
void pack_backward_panels_bf16(const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, uint16_t* out) {
  for (int64_t jb = jb0; jb < jb1; ++jb)
    avx512::pack_pairs_bf16(K, std::min(kP, N - jb * kP), w + jb * kP, N, out + jb * avx512::panel_bf16_elems(K));
}

// A set of packed panels of K rows in both precisions (one of f, b is null): fp32 [n][K][32] or
// bf16 [n][panel_bf16_elems(K)].
struct Panels {
  const float* f;
  const uint16_t* b;
  int64_t K;
  int64_t count;  // panels in the set (fp32 folded: the last one has no next to prefetch)
  // C[M, 0:ncols] (+)= A[M, k0 : k0 + k] · panel i rows [k0, k0 + k) (k0 even). fp32: A itself (lda);
  // bf16: ab, A's columns [k0, k0 + k) already rounded by the caller, [M, bf16_pad(k)] row-major.
  void gemm(int64_t i, int64_t k0, int64_t k, int64_t M, const float* A, int64_t lda, const uint16_t* ab,
            int64_t ncols, float* C, int64_t ldc, bool acc) const {
    if (b) {
      const int64_t kp = avx512::bf16_pad(k);
      avx512::panel_gemm_bf16(M, kp, ab, kp, b + i * avx512::panel_bf16_elems(K) + k0 * kP, ncols, C, ldc, acc);
    } else {
      avx512::panel_gemm(M, k, A, lda, f + (i * K + k0) * kP, ncols, C, ldc, acc);
    }
  }
  // fp32 folded panels (K = k1 + k2): C[M, 0:ncols] (+)= A1[M, k1] · panel i rows [0, k1) + A2[M, k2] · rows [k1, K).
  void gemm2(int64_t i, int64_t M, const float* A1, int64_t lda1, int64_t k1, const float* A2, int64_t lda2,
             int64_t ncols, float* C, int64_t ldc, bool acc) const {
    // The weights of a folded step outgrow L2 (I + R rows per panel): the next panel in memory (mostly
    // this thread's next product; at the end of its blocks, the partner's first or, in the row split,
    // nothing) is brought in from L3 while this one runs. Never past the last panel.
    const float* next = i + 1 < count ? f + (i + 1) * K * kP : nullptr;
    avx512::panel_gemm2(M, k1, A1, lda1, K - k1, A2, lda2, f + i * K * kP, ncols, C, ldc, acc, next);
  }
};

// One thread's bf16 copy of the phase's left operand; sized before the loop (rows × bf16_pad(max K)).
struct Operand {
  Bf16Buf buf;
  Operand(bool bf16, int64_t rows, int64_t maxK) : buf(bf16 ? rows * avx512::bf16_pad(maxK) : 0) {}
  // bf16: rows [M, K] of src (lds) rounded into the buffer, returned; fp32: nothing, null.
  const uint16_t* set(int64_t M, int64_t K, const float* src, int64_t lds) {
    if (!buf.p) return nullptr;
    avx512::convert_rows_bf16(M, K, src, lds, buf.p, avx512::bf16_pad(K));
    return buf.p;
  }
};
}  // namespace

void force_forward_split(int mode) { g_split.store(mode, std::memory_order_relaxed); }
void force_fold_input(int mode) { g_fold.store(mode, std::memory_order_relaxed); }

bool fold_input(const DirShape& s) {
  if (s.precision != Precision::fp32 || s.cell == CellType::gru_cho || projected(s)) return false;
  const int forced = g_fold.load(std::memory_order_relaxed);
  return forced != 0 ? forced > 0 : s.B >= 8;
}
int64_t forward_split_runs(bool rows, bool reset) {
  return reset ? g_split_runs[rows ? 1 : 0].exchange(0) : g_split_runs[rows ? 1 : 0].load();
}

bool fused_supported(const DirShape& /*every shape*/) {
  // RECURRENT_RNN_FUSED=0 turns the fused loops off (to compare them with the per-step path).
  static const bool off = [] {
    const char* e = std::getenv("RECURRENT_RNN_FUSED");
    return e && std::strcmp(e, "0") == 0;
  }();
  return !off && active_isa() == Isa::avx512;
}

namespace {
// Everything one forward step needs, shared by the team (pointers into the caller's buffers).
struct Fwd {
  const DirShape& s;
  const DirParams& p;
  const uint8_t* valid_all;
  float *A, *HS, *CS, *EX, *y;
  int64_t ldy;
  bool accumulate;
  const float* x;     // input folded (fold_input): x [T, B, I], and wf holds [W_ih ; W_hh] panels; else null
  int64_t a_stride;   // A's step stride: B·G·H, or 0 when A is one step (input folded, no tape)
  float* wf;          // packed forward panels [nb·G, R, 32] ([nb·G, I + R, 32] folded; zero-padded), filled by the team
  float* wr;          // projection: packed W_hr panels [nr, H, 32], filled by the team; else null
  const float* bias;  // [GH] folded biases or null
  float* GHB;         // gru: W_hh h_{t-1} without bias, [B, GH] (input folded: only the n columns)
  uint16_t* wfb;      // bf16: the forward panels in bf16 [nb·G][panel_bf16_elems(R)] (wf unused); else null
  uint16_t* wrb;      // bf16 + projection: W_hr panels [nr][panel_bf16_elems(H)]; else null
  bool bf16() const { return wfb != nullptr; }
  Panels hh() const { return {wfb ? nullptr : wf, wfb, x ? s.I + s.R : s.R, blocks(s.H) * s.G()}; }
  Panels hr() const { return {wrb ? nullptr : wr, wrb, s.H, blocks(s.R)}; }
  float* a(int64_t t) const { return A + t * a_stride; }  // A rows of time t, [B, G·H]
  // gru: EX rows (W_hn h + b_hn) of time t, [B, H]; one slot reused without a tape (light mode)
  float* gru_nh(int64_t t) const { return EX + (light ? 0 : t * s.B * s.H); }
  // No tape (inference, fused_forward_loop's `light`): HS holds only h0 and the states h_t are y's
  // rows (ldy = R), CS holds two slots used in turn; otherwise HS [T+1, B, R], CS [T+1, B, H].
  bool light;
  int split;  // g_split when the call started (forward_member's split choice)
  float* hs(int64_t slot) const {  // state slot (rnn_direction.h): [B, R]
    if (!light) return HS + slot * s.B * s.R;
    if (slot == (s.reverse ? s.T : 0)) return HS;
    return y + (s.reverse ? slot : slot - 1) * s.B * ldy;
  }
  float* cs(int64_t slot) const { return CS ? CS + (light ? slot % 2 : slot) * s.B * s.H : nullptr; }
  const float* h_prev(int64_t step) const {  // h_{t-1} of step `step`, [B, R]
    const int64_t t = s.reverse ? s.T - 1 - step : step;
    return hs(t + (s.reverse ? 1 : 0));
  }
  const float* ex(int64_t step) const {  // EX rows of step `step`, [B, H]
    return EX + (s.reverse ? s.T - 1 - step : step) * s.B * s.H;
  }
};

// y row `row` (= t·B + b), columns [j0, j0+nj): h_t on valid steps, 0 on padding (or += for sum-merge).
void store_y(const Fwd& f, int64_t row, bool ok, const float* hb, int64_t j0, int64_t nj) {
  if (f.light) return;  // h_t was written into y itself
  float* yr = f.y + row * f.ldy + j0;
  if (f.accumulate) {
    if (ok)
      for (int64_t j = 0; j < nj; ++j) yr[j] += hb[j];
  } else if (ok) {
    std::memcpy(yr, hb, nj * sizeof(float));
  } else {
    std::memset(yr, 0, nj * sizeof(float));
  }
}

// Step `step` (time t), hidden-unit block jb: the G gate panels of h_{t-1} W_hhᵀ (input folded: of
// [x_t | h_{t-1}] [W_ih ; W_hh]ᵀ, rows [r0, r1)), the gate/state
// pass of the block's units for all B rows, then y_t for those columns. ab: h_{t-1} in bf16 (bf16 mode).
void forward_block(const Fwd& f, int64_t step, int64_t jb, int64_t r0, int64_t r1, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t T = s.T, B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  const bool gru = s.cell == CellType::gru;
  const int64_t t = s.reverse ? T - 1 - step : step;
  float* at = f.a(t);
  const float* hp = f.hs(t + rev);
  float* hn = f.hs(t + 1 - rev);
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0), M = r1 - r0;
  if (f.x) {  // input folded: a_t = x_t W_ihᵀ + h_{t-1} W_hhᵀ (gru's n gate: the two parts apart, h's into GHB)
    const int64_t I = s.I;
    const float* xt = f.x + (t * B + r0) * I;
    for (int64_t g = 0; g < G; ++g) {
      float* ag = at + r0 * GH + g * H + j0;
      if (gru && g == 2) {  // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)): the h part apart, into GHB
        f.hh().gemm(jb * G + g, 0, I, M, xt, I, nullptr, nj, ag, GH, false);
        f.hh().gemm(jb * G + g, I, H, M, hp + r0 * H, H, nullptr, nj, f.GHB + r0 * GH + g * H + j0, GH, false);
      } else {
        f.hh().gemm2(jb * G + g, M, xt, I, I, hp + r0 * H, H, nj, ag, GH, false);
      }
    }
  } else {
    for (int64_t g = 0; g < G; ++g)  // gate g of units [j0, j0+nj): a_t (+)= h_{t-1} W_hhᵀ
      f.hh().gemm(jb * G + g, 0, H, M, hp + r0 * H, H, ab, nj, (gru ? f.GHB : at) + r0 * GH + g * H + j0, GH, !gru);
  }
  if (!f.x && step + 1 < T) {  // next step's x-projection of this block: on its way from L3 while we compute
    const float* an = f.a(s.reverse ? t - 1 : t + 1) + j0;
    for (int64_t b = r0; b < r1; ++b)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t c = 0; c < nj; c += 16) _mm_prefetch(reinterpret_cast<const char*>(an + b * GH + g * H + c), _MM_HINT_T1);
  }
  const float* bias = f.bias ? f.bias + j0 : nullptr;
  if (!valid && (gru || is_lstm(s.cell))) {  // every row valid: all rows' gates, then their states
    if (gru) {
      avx512::gru_forward_rows(M, nj, H, at + r0 * GH + j0, f.GHB + r0 * GH + j0, GH, bias,
                               f.p.b_hh ? f.p.b_hh + j0 : nullptr, f.x != nullptr, hp + r0 * H + j0, hn + r0 * H + j0,
                               f.gru_nh(t) + r0 * H + j0);
    } else {
      avx512::lstm_forward_rows(M, nj, H, at + r0 * GH + j0, GH, bias, f.p.w_ch ? f.p.w_ch + j0 : nullptr,
                                cp + r0 * H + j0, cn + r0 * H + j0, hn + r0 * H + j0);
    }
    for (int64_t b = r0; b < r1; ++b) store_y(f, t * B + b, true, hn + b * H + j0, j0, nj);
    return;
  }
  for (int64_t b = r0; b < r1; ++b) {
    const bool ok = !valid || valid[b];
    float* hb = hn + b * H + j0;
    if (!ok) {  // padded step: state carried
      std::memcpy(hb, hp + b * H + j0, nj * sizeof(float));
      if (cn) std::memcpy(cn + b * H + j0, cp + b * H + j0, nj * sizeof(float));
    } else if (gru) {
      avx512::gru_forward_rows(1, nj, H, at + b * GH + j0, f.GHB + b * GH + j0, GH, bias,
                               f.p.b_hh ? f.p.b_hh + j0 : nullptr, f.x != nullptr, hp + b * H + j0, hb,
                               f.gru_nh(t) + b * H + j0);
    } else if (s.cell == CellType::rnn_tanh || s.cell == CellType::rnn_relu) {
      avx512::rnn_forward_row(nj, s.cell == CellType::rnn_relu, at + b * GH + j0, bias, hb);
    } else if (s.cell == CellType::gru_simple) {
      avx512::gru_simple_forward_row(nj, H, at + b * GH + j0, bias, hp + b * H + j0, hb);
    } else {
      avx512::lstm_forward_row(nj, H, at + b * GH + j0, bias, f.p.w_ch ? f.p.w_ch + j0 : nullptr, cp + b * H + j0,
                               cn + b * H + j0, hb);
    }
    store_y(f, t * B + b, ok, hb, j0, nj);
  }
}

// GRU (Cho), phase 1 of block jb: a_t[r, z] += h_{t-1} W_h[r,z]ᵀ, then r, z and rh_t = r ⊙ h_{t-1}
// (into EX, the tape's r ⊙ h_prev) for all B rows (padded rows too: nothing reads them).
void cho_forward_gates(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, GH = 3 * H;
  const int64_t t = s.reverse ? s.T - 1 - step : step;
  float* at = f.a(t);
  const float* hp = f.hs(t + (s.reverse ? 1 : 0));
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  for (int64_t g = 0; g < 2; ++g)
    f.hh().gemm(jb * 3 + g, 0, H, B, hp, H, ab, nj, at + g * H + j0, GH, true);
  for (int64_t b = 0; b < B; ++b)
    avx512::gru_cho_gates_row(nj, H, at + b * GH + j0, f.bias ? f.bias + j0 : nullptr, hp + b * H + j0,
                              f.EX + (t * B + b) * H + j0);
}

// GRU (Cho), phase 2 of block jb (every rh_t column known): a_t[n] += rh_t W_hnᵀ, n, h_t, y_t.
void cho_forward_state(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, GH = 3 * H;
  const int rev = s.reverse ? 1 : 0;
  const int64_t t = s.reverse ? s.T - 1 - step : step;
  float* at = f.a(t);
  const float* hp = f.hs(t + rev);
  float* hn = f.hs(t + 1 - rev);
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  f.hh().gemm(jb * 3 + 2, 0, H, B, f.EX + t * B * H, H, ab, nj, at + 2 * H + j0, GH, true);
  for (int64_t b = 0; b < B; ++b) {
    const bool ok = !valid || valid[b];
    float* hb = hn + b * H + j0;
    if (ok) {
      avx512::gru_cho_state_row(nj, H, at + b * GH + j0, f.bias ? f.bias + j0 : nullptr, hp + b * H + j0, hb);
    } else {
      std::memcpy(hb, hp + b * H + j0, nj * sizeof(float));
    }
    store_y(f, t * B + b, ok, hb, j0, nj);
  }
}

// LSTM with projection, phase 1 of H block jb: a_t[g, block] += h_{t-1} W_hh[g, block]ᵀ (K = R), then
// the gate/state pass of the block's units → c_t and m_t = o ⊙ tanh c_t (into EX, the tape's m);
// padded rows carry c and get m = 0 (so they add nothing to dW_hr = Σ dh_tᵀ m_t).
void proj_forward_gates(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, GH = 4 * H;
  const int rev = s.reverse ? 1 : 0;
  const int64_t t = s.reverse ? T - 1 - step : step;
  float* at = f.a(t);
  const float* hp = f.hs(t + rev);
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  float* mt = f.EX + t * B * H;
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  for (int64_t g = 0; g < 4; ++g)
    f.hh().gemm(jb * 4 + g, 0, R, B, hp, R, ab, nj, at + g * H + j0, GH, true);
  const float* bias = f.bias ? f.bias + j0 : nullptr;
  const float* peep = f.p.w_ch ? f.p.w_ch + j0 : nullptr;
  for (int64_t b = 0; b < B; ++b) {
    if (!valid || valid[b]) {
      avx512::lstm_forward_row(nj, H, at + b * GH + j0, bias, peep, cp + b * H + j0, cn + b * H + j0, mt + b * H + j0);
    } else {
      std::memcpy(cn + b * H + j0, cp + b * H + j0, nj * sizeof(float));
      std::memset(mt + b * H + j0, 0, nj * sizeof(float));
    }
  }
}

// LSTM with projection, phase 2 of R block jr (every m_t column known): h_t[:, block] = m_t W_hr[block]ᵀ,
// h_{t-1} carried on padded rows; y_t for those columns.
void proj_forward_state(const Fwd& f, int64_t step, int64_t jr, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, R = s.R;
  const int rev = s.reverse ? 1 : 0;
  const int64_t t = s.reverse ? s.T - 1 - step : step;
  const float* hp = f.hs(t + rev);
  float* hn = f.hs(t + 1 - rev);
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jr * kP, nj = std::min(kP, R - j0);
  f.hr().gemm(jr, 0, H, B, f.EX + t * B * H, H, ab, nj, hn + j0, R, false);
  for (int64_t b = 0; b < B; ++b) {
    const bool ok = !valid || valid[b];
    if (!ok) std::memcpy(hn + b * R + j0, hp + b * R + j0, nj * sizeof(float));
    store_y(f, t * B + b, ok, hn + b * R + j0, j0, nj);
  }
}

// The forward loop of an LSTM with projection: two phases per step over different block sets (H blocks,
// then R blocks), a sync after each. Every member calls every sync until the team goes solo (a member
// may own no R block when nr < threads); then the others leave.
void proj_forward_member(const Fwd& f, StepTeam& team, int tid) {
  const int64_t nb = blocks(f.s.H), nr = blocks(f.s.R);
  const int64_t B = f.s.B, H = f.s.H, R = f.s.R;
  int64_t b0, b1;
  team.span(tid, nb, b0, b1);
  if (f.bf16()) {
    pack_forward_panels_bf16(f.p.w_hh, 4, H, R, b0, b1, f.wfb);
  } else {
    pack_forward_panels(f.p.w_hh, 4, H, R, b0, b1, f.wf);
  }
  team.span(tid, nr, b0, b1);
  if (f.bf16()) {
    pack_forward_panels_bf16(f.p.w_hr, 1, R, H, b0, b1, f.wrb);
  } else {
    pack_forward_panels(f.p.w_hr, 1, R, H, b0, b1, f.wr);
  }
  Operand op(f.bf16(), B, H);  // h_{t-1} [B, R], then m_t [B, H] (R < H)
  team.sync(tid);
  for (int64_t step = 0; step < f.s.T; ++step) {
    if (team.solo() && tid != 0) break;
    team.span(tid, nb, b0, b1);
    if (b0 < b1) {
      const uint16_t* ab = op.set(B, R, f.h_prev(step), R);
      for (int64_t jb = b0; jb < b1; ++jb) proj_forward_gates(f, step, jb, ab);
    }
    if (!team.solo()) team.sync(tid);
    if (team.solo() && tid != 0) break;
    team.span(tid, nr, b0, b1);
    if (b0 < b1) {
      const uint16_t* ab = op.set(B, H, f.ex(step), H);
      for (int64_t jr = b0; jr < b1; ++jr) proj_forward_state(f, step, jr, ab);
    }
    if (!team.solo()) team.sync(tid);
  }
  team.finish(tid);
}

// One member's part of the forward loop: its blocks of every step, one sync per step (h_t complete
// before anyone starts step t+1's product). A member that finds the team solo leaves.
void forward_member(const Fwd& f, StepTeam& team, int tid) {
  const int64_t nb = blocks(f.s.H), B = f.s.B, H = f.s.H;
  int64_t b0, b1;
  team.span(tid, nb, b0, b1);
  if (f.bf16()) {
    pack_forward_panels_bf16(f.p.w_hh, f.s.G(), H, f.s.R, b0, b1, f.wfb);
  } else if (f.x) {
    pack_folded_panels(f.p.w_ih, f.s.I, f.p.w_hh, f.s.G(), H, f.s.R, b0, b1, f.wf);
  } else {
    pack_forward_panels(f.p.w_hh, f.s.G(), H, f.s.R, b0, b1, f.wf);
  }
  Operand op(f.bf16(), B, H);  // h_{t-1} (and Cho's r ⊙ h_{t-1}), [B, H]
  team.sync(tid);
  const bool rows = split_forward_by_rows(f.s, team.size(), f.split);
  if (tid == 0 && team.size() > 1) g_split_runs[rows ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
  if (rows) {  // own rows, every block, every step: no sync inside the loop
    int64_t r0 = 0, r1 = team.solo() ? (tid == 0 ? B : 0) : B;
    if (!team.solo()) row_span(B, tid, team.size(), r0, r1);
    for (int64_t step = 0; r0 < r1 && step < f.s.T; ++step) {
      const uint16_t* ab = op.set(r1 - r0, H, f.h_prev(step) + r0 * H, H);  // this thread's rows only
      for (int64_t jb = 0; jb < nb; ++jb) forward_block(f, step, jb, r0, r1, ab);
    }
    // One StepTeam sync at the end (spin, then sleep; not OpenMP's spinning barrier): a partner that
    // lost its core for much longer than the loop's own work trips the solo rule, which feeds the back-off.
    if (!team.solo()) team.sync(tid);
    return team.finish(tid);
  }
  for (int64_t step = 0; step < f.s.T; ++step) {
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;  // solo, and not thread 0
    const uint16_t* ab = op.set(B, H, f.h_prev(step), H);
    if (f.s.cell == CellType::gru_cho) {  // two phases: every rh_t column before the n product
      for (int64_t jb = b0; jb < b1; ++jb) cho_forward_gates(f, step, jb, ab);
      if (!team.solo()) team.sync(tid);
      team.span(tid, nb, b0, b1);
      if (b0 == b1) break;
      ab = op.set(B, H, f.ex(step), H);
      for (int64_t jb = b0; jb < b1; ++jb) cho_forward_state(f, step, jb, ab);
    } else {
      for (int64_t jb = b0; jb < b1; ++jb) forward_block(f, step, jb, 0, B, ab);
    }
    if (!team.solo()) team.sync(tid);
  }
  team.finish(tid);
}

// Runs member(tid) on a team of StepTeam::plan(nb) threads (one OpenMP region per sequence). If
// OpenMP grants fewer threads (nested parallelism), thread 0 runs the whole loop alone.
template <class Member>
void run_team(int64_t nb, const Member& member) {
  const int nt = StepTeam::plan(nb);
  if (nt == 1) {
    StepTeam one(1);
    return member(one, 0);
  }
  StepTeam team(nt);
#pragma omp parallel num_threads(nt)
  {
    const int tid = omp_get_thread_num();
    if (omp_get_num_threads() == nt) {
      member(team, tid);
    } else if (tid == 0) {
      StepTeam one(1);
      member(one, 0);
    }
  }
}
}  // namespace

void fused_forward_loop(const DirShape& s, const DirParams& p, const uint8_t* valid_all, float* A, float* HS,
                        float* CS, float* EX, float* y, int64_t ldy, bool accumulate, bool light, const float* x) {
  RC_CHECK(!light || (!accumulate && !valid_all && ldy == s.R), "fused_forward_loop",
           "light mode needs y = [T, B, R] written whole, without padding");
  const int64_t B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H;
  const bool gru = s.cell == CellType::gru, proj = projected(s);
  const bool bf = s.precision == Precision::bf16;
  // Panels: every element (padding included) is written by the packing threads. bf16: bf16 panels only.
  RC_CHECK(!x || fold_input(s), "fused_forward_loop", "an input to fold was given for a shape that does not fold it");
  Tensor wf = bf ? Tensor() : Tensor::uninitialized({blocks(H) * G, x ? s.I + R : R, kP});
  Tensor wr = proj && !bf ? Tensor::uninitialized({blocks(R), H, kP}) : Tensor();
  Bf16Buf wfb(bf ? blocks(H) * G * avx512::panel_bf16_elems(R) : 0);
  Bf16Buf wrb(bf && proj ? blocks(R) * avx512::panel_bf16_elems(H) : 0);
  // Biases added in the gate pass (A arrives without them): LSTM b_ih + b_hh, GRU b_ih (its b_hh
  // goes inside r ⊙ (W_hn h + b_hn), added by the kernel).
  Tensor bias_t = (p.b_ih || p.b_hh) ? Tensor({GH}) : Tensor();
  float* bias = bias_t.defined() ? bias_t.data() : nullptr;
  for (int64_t j = 0; bias && j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (p.b_hh && !gru ? p.b_hh[j] : 0.0f);
  Tensor gh_buf = gru ? Tensor({B, GH}) : Tensor();
  const Fwd f{s,
              p,
              valid_all,
              A,
              HS,
              CS,
              EX,
              y,
              ldy,
              accumulate,
              x,
              x && light ? 0 : B * GH,
              wf.defined() ? wf.data() : nullptr,
              wr.defined() ? wr.data() : nullptr,
              bias,
              gru ? gh_buf.data() : nullptr,
              wfb.p,
              wrb.p,
              light,
              g_split.load(std::memory_order_relaxed)};
  run_team(blocks(H), [&](StepTeam& team, int tid) {
    if (proj) {
      proj_forward_member(f, team, tid);
    } else {
      forward_member(f, team, tid);
    }
  });
}

namespace {
struct Bwd {
  const DirShape& s;
  const DirParams& p;
  const float *A, *HS, *CS, *EX;
  const uint8_t* valid_all;
  const float* dy;
  int64_t ldy;
  float *dA, *dGh, *dc, *dpeep;
  float* drh;  // gru_cho: dL/d(r ⊙ h_prev) of the step, [B, H]
  float* wb;  // packed backward panels [nb, G·H, 32] (projection: [nr, G·H, 32]), filled by the team
  double* dbias;     // [GH] Σ of dA over rows and steps, or null
  double* dbias_hh;  // gru: [GH] Σ of dGh (b_hh's gradient: the h side), or null
  float* wr;      // projection: packed W_hr panels [nb, R, 32], filled by the team; else null
  float* dm;      // projection: dL/dm_t of the step, [B, H]
  float* dhs;     // projection: dL/dh_t of every step, [T, B, R] (for dW_hr)
  uint16_t* wbb;  // bf16: the backward panels in bf16 [n][panel_bf16_elems(G·H)] (wb unused); else null
  uint16_t* wrb;  // bf16 + projection: W_hr panels [nb][panel_bf16_elems(R)]; else null
  bool bf16() const { return wbb != nullptr; }
  Panels hh() const { return {wbb ? nullptr : wb, wbb, s.G() * s.H, blocks(s.R)}; }
  Panels hr() const { return {wrb ? nullptr : wr, wrb, s.R, blocks(s.H)}; }
};

// dbias[g·H + j0 + c] += Σ_b da_t[b, g·H + j0 + c] for the block's columns (fp32 over the B rows in
// order, then added in double): the bias gradient without another pass over dA [T·B, GH] after the
// loop (add_colsum in rnn_direction.cpp, ~2% of an LSTM training step, from memory).
void add_block_bias_grad(int64_t B, int64_t H, int64_t G, const float* dat, int64_t j0, int64_t nj, double* dbias) {
  const int64_t GH = G * H;
  for (int64_t g = 0; g < G; ++g) {
    float part[kP] = {};
    for (int64_t b = 0; b < B; ++b) {
      const float* row = dat + b * GH + g * H + j0;
      for (int64_t c = 0; c < nj; ++c) part[c] += row[c];
    }
    for (int64_t c = 0; c < nj; ++c) dbias[g * H + j0 + c] += part[c];
  }
}

// Step t, block jb, first half: gate/state backward of the block's units (+ dy_t) → dA_t columns,
// dc, dpeep, and the elementwise part of dL/dh_{t-1} (dpv).
void backward_gate_block(const Bwd& w, int64_t t, int64_t jb, float* dhv, float* dhpv) {
  const DirShape& s = w.s;
  const int64_t B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  const bool gru = s.cell == CellType::gru;
  const float* at = w.A + t * B * GH;
  const float* hp = w.HS + (t + rev) * B * H;
  float* dat = w.dA + t * B * GH;
  float* dgt = gru ? w.dGh + t * B * GH : dat;  // rows that multiply W_hh
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  for (int64_t b = 0; b < B; ++b) {
    float* dhb = dhv + b * H + j0;
    float* dpb = dhpv + b * H + j0;
    const bool ok = !valid || valid[b];
    if (w.dy && ok)  // dL/dh_t += dL/dy_t on valid steps (padding outputs are constants)
      for (int64_t j = 0; j < nj; ++j) dhb[j] += w.dy[(t * B + b) * w.ldy + j0 + j];
    if (!ok) {  // padded: no gate gradient; dh (and dc) pass through unchanged
      for (int64_t g = 0; g < G; ++g) {
        std::memset(dat + b * GH + g * H + j0, 0, nj * sizeof(float));
        if (gru) std::memset(dgt + b * GH + g * H + j0, 0, nj * sizeof(float));
      }
      std::memcpy(dpb, dhb, nj * sizeof(float));
    } else if (gru) {
      avx512::gru_backward_row(nj, H, at + b * GH + j0, w.EX + (t * B + b) * H + j0, hp + b * H + j0, dhb,
                               dat + b * GH + j0, dgt + b * GH + j0, dpb);
    } else if (s.cell == CellType::rnn_tanh || s.cell == CellType::rnn_relu) {
      avx512::rnn_backward_row(nj, s.cell == CellType::rnn_relu, at + b * GH + j0, dhb, dat + b * GH + j0);
      std::memset(dpb, 0, nj * sizeof(float));
    } else if (s.cell == CellType::gru_simple) {
      avx512::gru_simple_backward_row(nj, H, at + b * GH + j0, hp + b * H + j0, dhb, dat + b * GH + j0, dpb);
    } else if (s.cell == CellType::gru_cho) {  // n, z now; r once drh is known (cho_backward_r)
      avx512::gru_cho_backward_nz_row(nj, H, at + b * GH + j0, hp + b * H + j0, dhb, dat + b * GH + j0, dpb);
    } else {
      const float* cp = w.CS + (t + rev) * B * H + b * H + j0;
      const float* cn = w.CS + (t + 1 - rev) * B * H + b * H + j0;
      avx512::lstm_backward_row(nj, H, at + b * GH + j0, w.p.w_ch ? w.p.w_ch + j0 : nullptr, cp, cn, dhb,
                                w.dc + b * H + j0, dat + b * GH + j0, w.dpeep ? w.dpeep + j0 : nullptr);
      std::memset(dpb, 0, nj * sizeof(float));
    }
  }
  if (w.dbias) add_block_bias_grad(B, H, G, dat, j0, nj, w.dbias);
  if (w.dbias_hh) add_block_bias_grad(B, H, G, dgt, j0, nj, w.dbias_hh);
}

// GRU (Cho), middle phase of block jb (every da_n column known): drh[:, block] = da_n · W_hn[:, block],
// then da_r = drh ⊙ h_prev ⊙ r(1-r) and dL/dh_{t-1} += drh ⊙ r on valid rows (padded rows: da already 0).
void cho_backward_r(const Bwd& w, int64_t t, int64_t jb, float* dhpv, const uint16_t* ab) {
  const DirShape& s = w.s;
  const int64_t B = s.B, H = s.H, GH = 3 * H;
  const float* hp = w.HS + (t + (s.reverse ? 1 : 0)) * B * H;
  float* dat = w.dA + t * B * GH;  // = the tape's activations: r is still there, n and z are gradients now
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  w.hh().gemm(jb, 2 * H, H, B, dat + 2 * H, GH, ab, nj, w.drh + j0, H, false);  // ab: da_n in bf16
  for (int64_t b = 0; b < B; ++b)
    if (!valid || valid[b])
      avx512::gru_cho_backward_r_row(nj, dat + b * GH + j0, hp + b * H + j0, w.drh + b * H + j0, dat + b * GH + j0,
                                     dhpv + b * H + j0);
}

// LSTM with projection, backward phase 1 of R block jr: dh_t[:, block] += dy_t on valid rows, kept in dhs
// (for dW_hr), and the elementwise part of dL/dh_{t-1}: dh_t itself on padded rows, 0 on valid ones.
void proj_backward_dh(const Bwd& w, int64_t t, int64_t jr, float* dhv, float* dhpv) {
  const int64_t B = w.s.B, R = w.s.R;
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jr * kP, nj = std::min(kP, R - j0);
  for (int64_t b = 0; b < B; ++b) {
    float* dhb = dhv + b * R + j0;
    float* dpb = dhpv + b * R + j0;
    const bool ok = !valid || valid[b];
    if (w.dy && ok)
      for (int64_t j = 0; j < nj; ++j) dhb[j] += w.dy[(t * B + b) * w.ldy + j0 + j];
    std::memcpy(w.dhs + (t * B + b) * R + j0, dhb, nj * sizeof(float));
    if (ok) {
      std::memset(dpb, 0, nj * sizeof(float));
    } else {
      std::memcpy(dpb, dhb, nj * sizeof(float));
    }
  }
}

// LSTM with projection, phase 2 of H block jb (every dh_t column known): dm[:, block] = dh_t W_hr[:, block],
// then the gate/state backward of the block's units → dA_t columns, dc, dpeep (padded rows: dA 0, dc kept).
void proj_backward_gates(const Bwd& w, int64_t t, int64_t jb, const float* dhv, const uint16_t* ab) {
  const DirShape& s = w.s;
  const int64_t B = s.B, H = s.H, R = s.R, GH = 4 * H;
  const int rev = s.reverse ? 1 : 0;
  float* dat = w.dA + t * B * GH;  // = the tape's activations, overwritten row by row
  const float* cp = w.CS + (t + rev) * B * H;
  const float* cn = w.CS + (t + 1 - rev) * B * H;
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
  w.hr().gemm(jb, 0, R, B, dhv, R, ab, nj, w.dm + j0, H, false);  // ab: dh_t in bf16
  for (int64_t b = 0; b < B; ++b) {
    if (!valid || valid[b]) {
      avx512::lstm_backward_row(nj, H, dat + b * GH + j0, w.p.w_ch ? w.p.w_ch + j0 : nullptr, cp + b * H + j0,
                                cn + b * H + j0, w.dm + b * H + j0, w.dc + b * H + j0, dat + b * GH + j0,
                                w.dpeep ? w.dpeep + j0 : nullptr);
    } else {
      for (int64_t g = 0; g < 4; ++g) std::memset(dat + b * GH + g * H + j0, 0, nj * sizeof(float));
    }
  }
  if (w.dbias) add_block_bias_grad(B, H, 4, dat, j0, nj, w.dbias);
}

// BPTT of an LSTM with projection: three phases per step (R blocks | H blocks | R blocks), a sync after
// the first two; the third and the next step's first touch the same R blocks on the same thread.
void proj_backward_member(const Bwd& w, StepTeam& team, int tid, float* dh, float* dhp) {
  const DirShape& s = w.s;
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, GH = 4 * H, nb = blocks(H), nr = blocks(R);
  float* dhv = dh;    // dL/dh_t        (swapped with dhpv after every step, same on every thread)
  float* dhpv = dhp;  // dL/dh_{t-1}
  int64_t b0, b1;
  team.span(tid, nr, b0, b1);
  if (w.bf16()) {
    pack_backward_panels_bf16(w.p.w_hh, GH, R, b0, b1, w.wbb);
  } else {
    pack_backward_panels(w.p.w_hh, GH, R, b0, b1, w.wb);
  }
  team.span(tid, nb, b0, b1);
  if (w.bf16()) {
    pack_backward_panels_bf16(w.p.w_hr, R, H, b0, b1, w.wrb);
  } else {
    pack_backward_panels(w.p.w_hr, R, H, b0, b1, w.wr);
  }
  Operand op(w.bf16(), B, GH);  // dh_t [B, R], then dA_t [B, GH]
  team.sync(tid);
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    if (team.solo() && tid != 0) break;
    team.span(tid, nr, b0, b1);
    for (int64_t jr = b0; jr < b1; ++jr) proj_backward_dh(w, t, jr, dhv, dhpv);
    if (!team.solo()) team.sync(tid);
    if (team.solo() && tid != 0) break;
    team.span(tid, nb, b0, b1);
    if (b0 < b1) {
      const uint16_t* ab = op.set(B, R, dhv, R);
      for (int64_t jb = b0; jb < b1; ++jb) proj_backward_gates(w, t, jb, dhv, ab);
    }
    if (!team.solo()) team.sync(tid);  // dA_t complete
    if (team.solo() && tid != 0) break;
    team.span(tid, nr, b0, b1);
    const float* dat = w.dA + t * B * GH;
    const uint16_t* ab = b0 < b1 ? op.set(B, GH, dat, GH) : nullptr;
    for (int64_t jr = b0; jr < b1; ++jr) {  // dh_{t-1}[:, block] += dA_t · W_hh[:, block]
      const int64_t j0 = jr * kP, nj = std::min(kP, R - j0);
      w.hh().gemm(jr, 0, GH, B, dat, GH, ab, nj, dhpv + j0, R, true);
    }
    std::swap(dhv, dhpv);
  }
  team.finish(tid);
}

// One member's part of BPTT: gate backward of its blocks, sync (dA_t complete), then
// dh_{t-1}[:, its blocks] += dA_t · W_hh[:, its blocks]. The same member owns the same units in both
// halves, so one sync per step suffices (and after a switch to solo, thread 0 owns them all).
void backward_member(const Bwd& w, StepTeam& team, int tid, float* dh, float* dhp) {
  const DirShape& s = w.s;
  const int64_t T = s.T, B = s.B, H = s.H, GH = s.G() * H, nb = blocks(H);
  float* dhv = dh;    // dL/dh_t        (swapped with dhpv after every step, same on every thread)
  float* dhpv = dhp;  // dL/dh_{t-1}
  int64_t b0, b1;
  team.span(tid, nb, b0, b1);
  if (w.bf16()) {  // R = H here
    pack_backward_panels_bf16(w.p.w_hh, GH, H, b0, b1, w.wbb);
  } else {
    pack_backward_panels(w.p.w_hh, GH, H, b0, b1, w.wb);
  }
  Operand op(w.bf16(), B, GH);  // Cho's da_n [B, H], then dA_t [B, K ≤ GH]
  team.sync(tid);
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;  // solo, and not thread 0
    for (int64_t jb = b0; jb < b1; ++jb) backward_gate_block(w, t, jb, dhv, dhpv);
    if (!team.solo()) team.sync(tid);
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;
    int64_t K = GH;  // rows of W_hh that multiply h_{t-1} directly: all, or Cho's r, z
    if (s.cell == CellType::gru_cho) {
      const uint16_t* an = op.set(B, H, w.dA + t * B * GH + 2 * H, GH);  // da_n
      for (int64_t jb = b0; jb < b1; ++jb) cho_backward_r(w, t, jb, dhpv, an);
      if (!team.solo()) team.sync(tid);  // every da_r column known
      team.span(tid, nb, b0, b1);
      if (b0 == b1) break;
      K = 2 * H;
    }
    const float* dgt = (s.cell == CellType::gru ? w.dGh : w.dA) + t * B * GH;
    const uint16_t* ab = op.set(B, K, dgt, GH);
    for (int64_t jb = b0; jb < b1; ++jb) {  // dh_{t-1}[:, block] += dA_t[:, :K] · W_hh[:K, block]
      const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
      w.hh().gemm(jb, 0, K, B, dgt, GH, ab, nj, dhpv + j0, H, true);
    }
    std::swap(dhv, dhpv);
  }
  team.finish(tid);
}
}  // namespace

float* fused_backward_loop(const DirShape& s, const DirParams& p, const DirTape& tape, const float* dy, int64_t ldy,
                           float* dA, float* dGh, float* dh, float* dhp, float* dc, float* dpeep, double* dbias,
                           float* dhs, double* dbias_hh) {
  const int64_t H = s.H, R = s.R, GH = s.G() * H;
  const bool gru = s.cell == CellType::gru, proj = projected(s);
  RC_CHECK(!proj || dhs, "fused_backward_loop", "an LSTM with projection needs dhs [T, B, R]");
  RC_CHECK(!dbias || s.cell != CellType::gru_cho, "fused_backward_loop",
           "dbias is not final after the gate block for gru_cho (da_r comes later in the step)");
  RC_CHECK(!dbias_hh || gru, "fused_backward_loop", "dbias_hh is gru's alone (b_hh sees dGh there)");
  const bool bf = s.precision == Precision::bf16;
  // Panels (fp32, or bf16 only): every element written by the packing threads.
  Tensor wb = bf ? Tensor() : Tensor::uninitialized({blocks(R), GH, kP});
  Tensor wr = proj && !bf ? Tensor::uninitialized({blocks(H), R, kP}) : Tensor();
  Bf16Buf wbb(bf ? blocks(R) * avx512::panel_bf16_elems(GH) : 0);
  Bf16Buf wrb(bf && proj ? blocks(H) * avx512::panel_bf16_elems(R) : 0);
  Tensor dm = proj ? Tensor({s.B, H}) : Tensor();
  Tensor drh = s.cell == CellType::gru_cho ? Tensor({s.B, H}) : Tensor();
  const Bwd w{s,
              p,
              tape.a.data(),
              tape.hs.data(),
              tape.cs.defined() ? tape.cs.data() : nullptr,
              gru ? tape.extra.data() : nullptr,
              tape.valid.empty() ? nullptr : tape.valid.data(),
              dy,
              ldy,
              dA,
              dGh,
              dc,
              dpeep,
              drh.defined() ? drh.data() : nullptr,
              wb.defined() ? wb.data() : nullptr,
              dbias,
              dbias_hh,
              wr.defined() ? wr.data() : nullptr,
              proj ? dm.data() : nullptr,
              dhs,
              wbb.p,
              wrb.p};
  run_team(blocks(H), [&](StepTeam& team, int tid) {
    if (proj) {
      proj_backward_member(w, team, tid, dh, dhp);
    } else {
      backward_member(w, team, tid, dh, dhp);
    }
  });
  return s.T % 2 ? dhp : dh;
}

}  // namespace recurrent::rnn
