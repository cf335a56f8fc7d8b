// The fused forward time loop of one direction (every cell: LSTM with or without peephole and
// projection; GRU linear-before-reset and Cho's; simplified GRU; RNN tanh / ReLU) on every SIMD target:
// the per-step recurrent product and the gate/state pass run together, on the hidden units each thread
// owns, inside ONE OpenMP parallel region per sequence. Contract: fused_forward_loop in rnn_direction.h.
//
// Dimension legend as in rnn_direction.h (T, B, H, R, G); P = the target's panel width. Work split
// (nt = threads): hidden units are cut in blocks of P (nb = ⌈H/P⌉); thread k owns blocks
// [nb·k/nt, nb·(k+1)/nt). Per step: for each owned block, the G gate panels of h_{t-1} · W_hhᵀ (one
// P-column panel each, written into that block's columns of a_t; with the input folded,
// [x_t | h_{t-1}] · [W_ih ; W_hh]ᵀ), then the gate/state pass of the block's units for all B rows, then
// y_t; ONE barrier per step (h_t must be complete before any thread starts step t+1's product).
// The one-phase cells may instead give each thread its own batch rows (rnn_engine.cpp): no barrier.
//   GRU (Cho) needs every column of r ⊙ h_{t-1} before the n product: two phases per step (r, z, rh | n, h).
//   LSTM with projection (h = W_hr m, R < H columns of h cut in nr = ⌈R/P⌉ blocks of their own): two
//   phases (gates, c, m of the owned H blocks | h of the owned R blocks = m · W_hrᵀ).
// The barrier is StepTeam::sync (rnn_team.h): spin briefly, then sleep; when a partner turns out to be
// descheduled, the team goes solo (thread 0 takes every block, bitwise the same result).
// No allocation inside the time loop; the big GEMM before (X·W_ihᵀ, unless folded) stays in rnn_direction.cpp.
#include <algorithm>
#include <cstring>

#include "nn/cell.h"
#include "nn/rnn_fused.h"
#include "nn/rnn_panel_cache.h"
#include "recurrent/core/error.h"

namespace recurrent::rnn {

namespace {
using fused::blocks;

// Everything one forward step needs, shared by the team (pointers into the caller's buffers).
struct Fwd {
  const DirShape& s;
  const DirParams& p;
  const Cell& cell;
  const simd::RnnKernels& k;
  const uint8_t* valid_all;
  float *A, *HS, *CS, *EX, *y;
  int64_t ldy;
  bool accumulate;
  const float* x;      // input folded (fold_input): x [T, B, I], and wf holds [W_ih ; W_hh] panels; else null
  int64_t a_stride;    // A's step stride: B·G·H, or 0 when A is one step (input folded, no tape)
  const float* wf;     // packed forward panels [nb·G, R, P] ([nb·G, I + R, P] folded)
  const float* wr;     // projection: packed W_hr panels [nr, H, P]; else null
  const float* bias;   // [GH] folded biases or null
  float* GHB;          // h side apart (GRU): W_hh h_{t-1} without bias, [B, GH] (input folded: only its gates' columns)
  const uint16_t* wfb;  // bf16: the forward panels in bf16 [nb·G][panel_bf16_elems(R)] (wf unused); else null
  const uint16_t* wrb;  // bf16 + projection: W_hr panels [nr][panel_bf16_elems(H)]; else null
  // Where the team packs the panels before the loop (the buffers above, writable), each member its own
  // blocks; null when they came packed from the cache (rnn_panel_cache.h): nothing to pack.
  struct Pack {
    float *wf, *wr;
    uint16_t *wfb, *wrb;
  };
  const Pack* pack;
  // No tape (inference): HS holds only h0 and the states h_t are y's rows (ldy = R), CS holds two slots
  // used in turn; otherwise HS [T+1, B, R], CS [T+1, B, H].
  bool light;
  // Recurrent dropout (rmask [B, R], HD [T+1, B, R]: the products read h ⊙ rmask from HD) and zoneout (zp > 0;
  // zmask [T, B, H] or null: the expectation) (rnn_direction.h DirParams); null / 0: none.
  float* HD;
  const float* rmask;
  const uint8_t* zmask;
  float zp;

  int64_t P() const { return k.panel; }
  bool bf16() const { return wfb != nullptr; }
  bool amx = false;  // bf16 on AMX tiles (use_amx)
  fused::Panels hh() const { return {&k, wfb ? nullptr : wf, wfb, x ? s.I + s.R : s.R, blocks(s.H, P()) * s.G(), amx}; }
  fused::Panels hr() const { return {&k, wrb ? nullptr : wr, wrb, s.H, blocks(s.R, P()), amx}; }
  float* a(int64_t t) const { return A + t * a_stride; }  // A rows of time t, [B, G·H]
  // EX rows of time t, [B, H] (GRU: W_hn h + b_hn; Cho: r ⊙ h_{t-1}; projection: m); an extra kept for
  // backward only reuses one slot without a tape
  float* ex_rows(int64_t t) const {
    return EX ? EX + (light && cell.extra == Extra::backward ? 0 : t * s.B * s.H) : nullptr;
  }
  float* hs(int64_t slot) const {  // state slot (rnn_direction.h): [B, R]
    if (!light) return HS + slot * s.B * s.R;
    if (slot == (s.reverse ? s.T : 0)) return HS;
    return y + (s.reverse ? slot : slot - 1) * s.B * ldy;
  }
  float* cs(int64_t slot) const { return CS ? CS + (light ? slot % 2 : slot) * s.B * s.H : nullptr; }
  int64_t time(int64_t step) const { return s.reverse ? s.T - 1 - step : step; }
  const float* h_prev(int64_t step) const { return hs(time(step) + (s.reverse ? 1 : 0)); }  // [B, R]
  // The products' left operand of slot / of step's h_{t-1}: the state, or with recurrent dropout its dropped copy
  const float* hin(int64_t slot) const { return HD ? HD + slot * s.B * s.R : hs(slot); }
  const float* hin_prev(int64_t step) const { return hin(time(step) + (s.reverse ? 1 : 0)); }
  const float* ex(int64_t step) const { return ex_rows(time(step)); }                      // [B, H]
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

// The gate products of step t, block jb, rows [r0, r1): a_t (+)= h_{t-1} W_hhᵀ (h side apart: into GHB), or
// with the input folded a_t = x_t W_ihᵀ + h_{t-1} W_hhᵀ (the gates from Cell::h_apart on, GRU's n: the two
// parts apart, h's into GHB). ab: h_{t-1} in bf16.
void forward_products(const Fwd& f, int64_t t, int64_t jb, int64_t r0, int64_t r1, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t H = s.H, G = s.G(), GH = G * H, P = f.P();
  const int apart = f.cell.h_apart;
  const bool gru = apart >= 0;
  float* at = f.a(t);
  const float* hp = f.hin(t + (s.reverse ? 1 : 0));
  const int64_t j0 = jb * P, nj = std::min(P, H - j0), M = r1 - r0;
  const int64_t whole = gru ? apart : G;  // gates whose product is one accumulation (GRU: r, z)
  if (f.x) {
    const int64_t I = s.I;
    const float* xt = f.x + (t * s.B + r0) * I;
    for (int64_t g = 0; g < G; ++g) {
      float* ag = at + r0 * GH + g * H + j0;
      if (g >= whole) {  // GRU's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)): the h part apart, into GHB
        f.hh().gemm(jb * G + g, 0, I, M, xt, I, nullptr, nj, ag, GH, false);
        f.hh().gemm(jb * G + g, I, H, M, hp + r0 * H, H, nullptr, nj, f.GHB + r0 * GH + g * H + j0, GH, false);
      } else if (g + 1 < whole) {  // gates g and g + 1 in one register block (bitwise the same as one by one)
        f.hh().gemm_pair(jb * G + g, M, xt, I, I, hp + r0 * H, H, nj, ag, ag + H, GH, false, true);
        ++g;
      } else {
        f.hh().gemm2(jb * G + g, M, xt, I, I, hp + r0 * H, H, nj, ag, GH, false);
      }
    }
    return;
  }
  if (ab) {  // bf16: the G gates' panels against the same rows (AMX reads each tile block of h_{t-1} once)
    f.hh().gemm_n(jb * G, G, H, M, ab, nj, (gru ? f.GHB : at) + r0 * GH + j0, H, GH, !gru);
  } else {
    for (int64_t g = 0; g < G; ++g) {  // gate g of units [j0, j0+nj): a_t (+)= h_{t-1} W_hhᵀ
      float* cg = (gru ? f.GHB : at) + r0 * GH + g * H + j0;
      if (g + 1 < G) {  // fp32: gates g and g + 1 in one register block
        f.hh().gemm_pair(jb * G + g, M, hp + r0 * H, H, H, hp + r0 * H, H, nj, cg, cg + H, GH, !gru, false);
        ++g;
      } else {
        f.hh().gemm(jb * G + g, 0, H, M, hp + r0 * H, H, nullptr, nj, cg, GH, !gru);
      }
    }
  }
  if (t != (s.reverse ? 0 : s.T - 1)) {  // next step's x-projection of this block: on its way from L3 meanwhile
    const float* an = f.a(s.reverse ? t - 1 : t + 1) + j0;
    for (int64_t b = r0; b < r1; ++b)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t c = 0; c < nj; c += 16) __builtin_prefetch(an + b * GH + g * H + c, 0, 2);
  }
}

// The cell's rows (nn/cell.h) of time t, units [j0, j0 + nj), M rows from r0; h: the output's rows (offset
// to row r0, unit j0; null: the cell writes none in this phase). With a projection hp is not the cell's
// (h_{t-1} has R columns, and no LSTM row reads it): null.
FwdRows block_rows(const Fwd& f, int64_t t, int64_t j0, int64_t nj, int64_t r0, int64_t M, float* h) {
  const DirShape& s = f.s;
  const int64_t H = s.H, GH = s.G() * H, off = r0 * H + j0;
  const int rev = s.reverse ? 1 : 0;
  const bool apart = f.cell.h_apart >= 0;
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  float* ex = f.ex_rows(t);
  return {.M = M,
          .n = nj,
          .H = H,
          .a = f.a(t) + r0 * GH + j0,
          .lda = GH,
          .gh = f.GHB ? f.GHB + r0 * GH + j0 : nullptr,
          .folded = f.x != nullptr,
          .bias = f.bias ? f.bias + j0 : nullptr,
          .b_hh = apart && f.p.b_hh ? f.p.b_hh + j0 : nullptr,
          .peep = f.p.w_ch ? f.p.w_ch + j0 : nullptr,
          .hp = fused::projected(s) ? nullptr : f.hs(t + rev) + off,
          .h = h,
          .cp = cp ? cp + off : nullptr,
          .c = cn ? cn + off : nullptr,
          .ex = ex ? ex + off : nullptr};
}

// After the cell's rows of time t, units [j0, j0 + nj) (of h_t's R columns), rows [r0, r1): zoneout on valid
// rows (h_t and c_t keep h_{t-1}, c_{t-1} where zmask is 1; without a mask the expectation
// p·prev + (1-p)·new), then the dropped copy HD = h_t ⊙ rmask that the next step's products read.
void regularise_rows(const Fwd& f, int64_t t, int64_t j0, int64_t nj, int64_t r0, int64_t r1, const uint8_t* valid) {
  const DirShape& s = f.s;
  const int64_t B = s.B, R = s.R;  // R = H with zoneout (no projection)
  const int rev = s.reverse ? 1 : 0;
  if (f.zp <= 0.0f && !f.HD) return;
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  const auto rows = [&](int64_t b, int64_t M, bool zoneout) {  // rows [b, b + M): the target's kernel
    const int64_t o = b * R + j0;
    f.k.zoneout_rows({.M = M, .n = nj, .ld = R, .zoneout = zoneout,
                      .z = f.zmask ? f.zmask + (t * B + b) * R + j0 : nullptr, .ldz = R, .q = f.zp,
                      .hp = f.hs(t + rev) + o, .h = f.hs(t + 1 - rev) + o, .cp = cp ? cp + o : nullptr,
                      .c = cn ? cn + o : nullptr, .rm = f.HD ? f.rmask + o : nullptr,
                      .hd = f.HD ? f.HD + (t + 1 - rev) * B * R + o : nullptr});
  };
  if (!valid) return rows(r0, r1 - r0, f.zp > 0.0f);
  for (int64_t b = r0; b < r1; ++b) rows(b, 1, f.zp > 0.0f && valid[b]);  // padded rows: carried, not zoned
}

// Step `step` (time t), hidden-unit block jb, rows [r0, r1): the gate products, the cell's gate/state pass
// of the block's units (all rows at once when none is padded), then y_t for those columns.
void forward_block(const Fwd& f, int64_t step, int64_t jb, int64_t r0, int64_t r1, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H;
  const int rev = s.reverse ? 1 : 0;
  const int64_t t = f.time(step);
  forward_products(f, t, jb, r0, r1, ab);
  const float* hp = f.hs(t + rev);
  float* hn = f.hs(t + 1 - rev);
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * f.P(), nj = std::min(f.P(), H - j0);
  const FwdRows r = block_rows(f, t, j0, nj, r0, r1 - r0, hn + r0 * H + j0);
  if (!valid) {  // every row valid (LSTM, GRU: all rows' gates, then their states)
    f.cell.forward(&f.k, r);
    regularise_rows(f, t, j0, nj, r0, r1, nullptr);
    for (int64_t b = r0; b < r1; ++b) store_y(f, t * B + b, true, hn + b * H + j0, j0, nj);
    return;
  }
  for (int64_t b = r0; b < r1; ++b) {
    float* hb = hn + b * H + j0;
    if (!valid[b]) {  // padded step: state carried
      std::memcpy(hb, hp + b * H + j0, nj * sizeof(float));
      if (cn) std::memcpy(cn + b * H + j0, cp + b * H + j0, nj * sizeof(float));
    } else {
      f.cell.forward(&f.k, r.row(b - r0));
    }
  }
  regularise_rows(f, t, j0, nj, r0, r1, valid);
  for (int64_t b = r0; b < r1; ++b) store_y(f, t * B + b, valid[b], hn + b * H + j0, j0, nj);
}

// Two-phase cells (Cho's GRU), phase 1 of block jb: a_t[gates < h_gates] += h_{t-1} W_hhᵀ, then the cell's
// phase-1 rows (Cho: r, z and ex_t = r ⊙ h_{t-1}, the tape's extra) for all B rows (padded rows too:
// nothing reads them).
void phase1_forward(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int64_t t = f.time(step);
  float* at = f.a(t);
  const float* hp = f.h_prev(step);
  const int64_t j0 = jb * f.P(), nj = std::min(f.P(), H - j0);
  for (int64_t g = 0; g < f.cell.h_gates; ++g) f.hh().gemm(jb * G + g, 0, H, B, hp, H, ab, nj, at + g * H + j0, GH, true);
  f.cell.forward(&f.k, block_rows(f, t, j0, nj, 0, B, nullptr));
}

// Two-phase cells, phase 2 of block jb (every ex_t column known): a_t[other gates] += ex_t W_hhᵀ (Cho:
// n += (r ⊙ h_{t-1}) W_hnᵀ), the cell's phase-2 rows (n, h_t), y_t.
void phase2_forward(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int64_t t = f.time(step);
  float* at = f.a(t);
  const float* hp = f.h_prev(step);
  float* hn = f.hs(t + 1 - (s.reverse ? 1 : 0));
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * f.P(), nj = std::min(f.P(), H - j0);
  for (int64_t g = f.cell.h_gates; g < G; ++g)
    f.hh().gemm(jb * G + g, 0, H, B, f.ex_rows(t), H, ab, nj, at + g * H + j0, GH, true);
  const FwdRows r = block_rows(f, t, j0, nj, 0, B, hn + j0);
  for (int64_t b = 0; b < B; ++b) {
    const bool ok = !valid || valid[b];
    float* hb = hn + b * H + j0;
    if (ok) {
      f.cell.forward2(&f.k, r.row(b));
    } else {
      std::memcpy(hb, hp + b * H + j0, nj * sizeof(float));
    }
  }
  regularise_rows(f, t, j0, nj, 0, B, valid);
  for (int64_t b = 0; b < B; ++b) store_y(f, t * B + b, !valid || valid[b], hn + b * H + j0, j0, nj);
}

// LSTM with projection, phase 1 of H block jb: a_t[g, block] += h_{t-1} W_hh[g, block]ᵀ (K = R), then
// the cell's gate/state pass of the block's units → c_t and m_t = o ⊙ tanh c_t (into EX, the tape's m);
// padded rows carry c and get m = 0 (so they add nothing to dW_hr = Σ dh_tᵀ m_t).
void proj_forward_gates(const Fwd& f, int64_t step, int64_t jb, const uint16_t* ab) {
  const DirShape& s = f.s;
  const int64_t B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  const int64_t t = f.time(step);
  float* at = f.a(t);
  const float* cp = f.cs(t + rev);
  float* cn = f.cs(t + 1 - rev);
  float* mt = f.ex_rows(t);
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jb * f.P(), nj = std::min(f.P(), H - j0);
  for (int64_t g = 0; g < G; ++g) f.hh().gemm(jb * G + g, 0, R, B, f.hin_prev(step), R, ab, nj, at + g * H + j0, GH, true);
  const FwdRows r = block_rows(f, t, j0, nj, 0, B, mt + j0);
  for (int64_t b = 0; b < B; ++b) {
    if (!valid || valid[b]) {
      f.cell.forward(&f.k, r.row(b));
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
  const int64_t t = f.time(step);
  const float* hp = f.h_prev(step);
  float* hn = f.hs(t + 1 - (s.reverse ? 1 : 0));
  const uint8_t* valid = f.valid_all ? f.valid_all + t * B : nullptr;
  const int64_t j0 = jr * f.P(), nj = std::min(f.P(), R - j0);
  f.hr().gemm(jr, 0, H, B, f.EX + t * B * H, H, ab, nj, hn + j0, R, false);
  for (int64_t b = 0; b < B; ++b) {
    const bool ok = !valid || valid[b];
    if (!ok) std::memcpy(hn + b * R + j0, hp + b * R + j0, nj * sizeof(float));
    store_y(f, t * B + b, ok, hn + b * R + j0, j0, nj);
  }
  regularise_rows(f, t, j0, nj, 0, B, valid);  // recurrent dropout only (no zoneout with a projection)
}

// Packs this member's forward panels of w [G·N, K], blocks [b0, b1), into the call's precision: bf16 pairs
// (bf) or fp32 panels (fp).
void pack_forward(const Fwd& f, const float* w, int64_t G, int64_t N, int64_t K, int64_t b0, int64_t b1, float* fp,
                  uint16_t* bf) {
  if (f.bf16()) {
    fused::pack_forward_panels_bf16(f.k, w, G, N, K, b0, b1, bf);
  } else {
    fused::pack_forward_panels(f.k, w, G, N, K, b0, b1, fp);
  }
}

// The forward loop of an LSTM with projection: two phases per step over different block sets (H blocks,
// then R blocks), a sync after each. Every member calls every sync until the team goes solo (a member
// may own no R block when nr < threads); then the others leave.
void proj_forward_member(const Fwd& f, StepTeam& team, int tid) {
  const int64_t nb = blocks(f.s.H, f.P()), nr = blocks(f.s.R, f.P());
  const int64_t B = f.s.B, H = f.s.H, R = f.s.R;
  int64_t b0, b1;
  if (const Fwd::Pack* out = f.pack) {  // else: panels from the cache
    team.span(tid, nb, b0, b1);
    pack_forward(f, f.p.w_hh, 4, H, R, b0, b1, out->wf, out->wfb);
    team.span(tid, nr, b0, b1);
    pack_forward(f, f.p.w_hr, 1, R, H, b0, b1, out->wr, out->wrb);
  }
  fused::Operand op(f.bf16(), B, H);  // h_{t-1} [B, R], then m_t [B, H] (R < H)
  team.sync(tid);
  for (int64_t step = 0; step < f.s.T; ++step) {
    if (team.solo() && tid != 0) break;
    team.span(tid, nb, b0, b1);
    if (b0 < b1) {
      const uint16_t* ab = op.set(B, R, f.hin_prev(step), R);
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

// Own rows, every block, every step: no sync inside the loop. One StepTeam sync at the end (spin, then
// sleep; not OpenMP's spinning barrier): a partner that lost its core for much longer than the loop's
// own work trips the solo rule, which feeds the back-off.
void rows_forward_member(const Fwd& f, StepTeam& team, int tid, fused::Operand& op) {
  const int64_t nb = blocks(f.s.H, f.P()), B = f.s.B, H = f.s.H;
  int64_t r0 = 0, r1 = team.solo() ? (tid == 0 ? B : 0) : B;
  if (!team.solo()) fused::row_span(B, tid, team.size(), r0, r1);
  for (int64_t step = 0; r0 < r1 && step < f.s.T; ++step) {
    const uint16_t* ab = op.set(r1 - r0, H, f.hin_prev(step) + r0 * H, H);  // this thread's rows only
    for (int64_t jb = 0; jb < nb; ++jb) forward_block(f, step, jb, r0, r1, ab);
  }
  if (!team.solo()) team.sync(tid);
  team.finish(tid);
}

// One member's part of the forward loop: its blocks of every step, one sync per step (h_t complete
// before anyone starts step t+1's product). A member that finds the team solo leaves.
void forward_member(const Fwd& f, StepTeam& team, int tid) {
  const int64_t nb = blocks(f.s.H, f.P()), B = f.s.B, H = f.s.H;
  int64_t b0, b1;
  team.span(tid, nb, b0, b1);
  if (!f.pack) {  // panels from the cache
  } else if (f.x) {
    fused::pack_folded_panels(f.k, f.p.w_ih, f.s.I, f.p.w_hh, f.s.G(), H, f.s.R, b0, b1, f.pack->wf);
  } else {
    pack_forward(f, f.p.w_hh, f.s.G(), H, f.s.R, b0, b1, f.pack->wf, f.pack->wfb);
  }
  fused::Operand op(f.bf16(), B, H);  // h_{t-1} (and Cho's r ⊙ h_{t-1}), [B, H]
  team.sync(tid);
  const bool rows = fused::split_forward_by_rows(f.s, team.size());
  if (tid == 0 && team.size() > 1) fused::count_split_run(rows);
  if (rows) return rows_forward_member(f, team, tid, op);
  for (int64_t step = 0; step < f.s.T; ++step) {
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;  // solo, and not thread 0
    const uint16_t* ab = op.set(B, H, f.hin_prev(step), H);
    if (f.cell.two_phase()) {  // two phases: every ex_t column (Cho: r ⊙ h_{t-1}) before the n product
      for (int64_t jb = b0; jb < b1; ++jb) phase1_forward(f, step, jb, ab);
      if (!team.solo()) team.sync(tid);
      team.span(tid, nb, b0, b1);
      if (b0 == b1) break;
      ab = op.set(B, H, f.ex(step), H);
      for (int64_t jb = b0; jb < b1; ++jb) phase2_forward(f, step, jb, ab);
    } else {
      for (int64_t jb = b0; jb < b1; ++jb) forward_block(f, step, jb, 0, B, ab);
    }
    if (!team.solo()) team.sync(tid);
  }
  team.finish(tid);
}
// What identifies this call's packed panels in the cache (rnn_panel_cache.h): the weights' stamps, the
// shape, target and precision; the stamps checked against the weights.
PanelKey panel_key(const DirShape& s, const DirParams& p, const simd::RnnKernels& k, bool fold) {
  const bool proj = fused::projected(s);
  const PanelKey key{.w_ih = fold ? p.s_ih : WeightStamp{},
                     .w_hh = p.s_hh,
                     .w_hr = proj ? p.s_hr : WeightStamp{},
                     .target = k.target,
                     .panel = k.panel,
                     .precision = s.precision,
                     .fold = fold,
                     .cell = s.cell,
                     .I = s.I,
                     .R = s.R,
                     .H = s.H,
                     .G = s.G()};
  RC_CHECK(key.w_hh.ptr == p.w_hh && key.w_ih.ptr == (fold ? p.w_ih : nullptr) &&
               key.w_hr.ptr == (proj ? p.w_hr : nullptr),
           "fused_forward_loop", "the panel cache's weight stamps do not match the weights");
  return key;
}
}  // namespace

void fused_forward_loop(const DirShape& s, const DirParams& p, const uint8_t* valid_all, float* A, float* HS,
                        float* CS, float* EX, float* y, int64_t ldy, bool accumulate, bool light, const float* x,
                        float* HD) {
  RC_CHECK(!light || (!accumulate && !valid_all && ldy == s.R), "fused_forward_loop",
           "light mode needs y = [T, B, R] written whole, without padding");
  RC_CHECK(!x || fold_input(s), "fused_forward_loop", "an input to fold was given for a shape that does not fold it");
  RC_CHECK(!p.rmask == !HD && (!p.rmask || !light) && (p.zoneout == 0.0f || !fused::projected(s)) &&
               (!p.rmask || !cell_of(s.cell).two_phase()),
           "fused_forward_loop", "recurrent dropout needs HD and a tape, and no two-phase cell; zoneout no projection");
  const simd::RnnKernels& k = fused::kernels(s);
  const int64_t B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H, P = k.panel;
  const Cell& cell = cell_of(s.cell);
  const bool apart = cell.h_apart >= 0, proj = fused::projected(s);
  const bool bf = s.precision == Precision::bf16;
  RC_CHECK(!bf || bf16_target(k.target), "precision", "bf16 needs the avx512 target");
  // Panels: from the cache when it holds them for these weights (their versions) and this shape, target
  // and precision (rnn_panel_cache.h); else fresh buffers of which the packing threads write every
  // element (padding included), published to the cache after the loop. bf16: bf16 panels only.
  const PanelKey key = p.cache ? panel_key(s, p, k, x != nullptr) : PanelKey{};
  std::shared_ptr<const PanelCache::Entry> cached = p.cache ? p.cache->find(key) : nullptr;
  Tensor wf, wr;
  fused::Bf16Buf wfb(0), wrb(0);
  Fwd::Pack pack{};
  if (!cached) {
    if (!bf) wf = Tensor::uninitialized({blocks(H, P) * G, x ? s.I + R : R, P});
    if (proj && !bf) wr = Tensor::uninitialized({blocks(R, P), H, P});
    if (bf) wfb = fused::Bf16Buf(blocks(H, P) * G * fused::panel_bf16_elems(R));
    if (bf && proj) wrb = fused::Bf16Buf(blocks(R, P) * fused::panel_bf16_elems(H));
    pack = {.wf = wf.defined() ? wf.data() : nullptr, .wr = wr.defined() ? wr.data() : nullptr, .wfb = wfb.p, .wrb = wrb.p};
  }
  const auto cdata = [](const Tensor& t) { return t.defined() ? t.data() : nullptr; };
  const auto cbf16 = [](const Tensor& t) { return t.defined() ? reinterpret_cast<const uint16_t*>(t.data()) : nullptr; };
  // Biases added in the gate pass (A arrives without them): b_ih + b_hh, or b_ih alone where the h side
  // stays apart (GRU: its b_hh goes inside r ⊙ (W_hn h + b_hn), added by the kernel).
  Tensor bias_t = (p.b_ih || p.b_hh) ? Tensor({GH}) : Tensor();
  float* bias = bias_t.defined() ? bias_t.data() : nullptr;
  for (int64_t j = 0; bias && j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (p.b_hh && !apart ? p.b_hh[j] : 0.0f);
  Tensor gh_buf = apart ? Tensor({B, GH}) : Tensor();
  const Fwd f{.s = s,
              .p = p,
              .cell = cell,
              .k = k,
              .valid_all = valid_all,
              .A = A,
              .HS = HS,
              .CS = CS,
              .EX = EX,
              .y = y,
              .ldy = ldy,
              .accumulate = accumulate,
              .x = x,
              .a_stride = x && light ? 0 : B * GH,
              .wf = cached ? cdata(cached->wf) : pack.wf,
              .wr = cached ? cdata(cached->wr) : pack.wr,
              .bias = bias,
              .GHB = apart ? gh_buf.data() : nullptr,
              .wfb = cached ? cbf16(cached->wfb) : pack.wfb,
              .wrb = cached ? cbf16(cached->wrb) : pack.wrb,
              .pack = cached ? nullptr : &pack,
              .light = light,
              .HD = HD,
              .rmask = p.rmask,
              .zmask = p.zmask,
              .zp = p.zoneout,
              .amx = bf && use_amx(s)};
  fused::run_team(blocks(H, P), static_cast<double>(B) * static_cast<double>(GH) * static_cast<double>(R), [&](StepTeam& team, int tid) {
    if (proj) {
      proj_forward_member(f, team, tid);
    } else {
      forward_member(f, team, tid);
    }
  });
  if (p.cache && !cached)
    p.cache->publish(std::make_shared<const PanelCache::Entry>(
        PanelCache::Entry{.key = key, .wf = wf, .wr = wr, .wfb = wfb.t, .wrb = wrb.t}));
}

}  // namespace recurrent::rnn
