// The fused backpropagation-through-time loop of one direction on every SIMD target: per step, the
// gate/state backward of the hidden units each thread owns (→ dA_t columns, dc, dpeep), a barrier
// (dA_t complete), then dh_{t-1}[:, owned units] += dA_t · W_hh[:, owned units]: the same thread owns the
// same units in both halves, so ONE barrier per step. Contract: fused_backward_loop in rnn_direction.h.
//   GRU (Cho): three phases (n, z | drh = da_n W_hn, r | dh_{t-1}), 2 syncs per step.
//   LSTM with projection: three phases (dh_t += dy_t of the owned R blocks | dm = dh_t W_hr, gate backward
//   of the owned H blocks | dh_{t-1} of the owned R blocks), 2 syncs per step (the last phase and the next
//   step's first touch the same R blocks on the same thread).
// Dimension legend as in rnn_direction.h; P = the target's panel width; packed panels: rnn_fused.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "nn/cell.h"
#include "nn/rnn_fused.h"
#include "recurrent/core/error.h"

namespace recurrent::rnn {

namespace {
using fused::blocks;

struct Bwd {
  const DirShape& s;
  const DirParams& p;
  const Cell& cell;
  const simd::RnnKernels& k;
  const float *A, *HS, *CS, *EX;
  const uint8_t* valid_all;
  const float* dy;
  int64_t ldy;
  float *dA, *dGh, *dc, *dpeep;  // dGh: h side apart (GRU), [T, B, GH]
  float* dex;        // two-phase cells: dL/d ex of the step (Cho: dL/d(r ⊙ h_prev)), [B, H]
  float* wb;         // packed backward panels [nb, G·H, P] (projection: [nr, G·H, P]), filled by the team
  double* dbias;     // [GH] Σ of dA over rows and steps, or null
  double* dbias_hh;  // h side apart: [GH] Σ of dGh (b_hh's gradient), or null
  float* wr;         // projection: packed W_hr panels [nb, R, P], filled by the team; else null
  float* dm;         // projection: dL/dm_t of the step, [B, H]
  float* dhs;        // projection: dL/dh_t of every step, [T, B, R] (for dW_hr)
  uint16_t* wbb;     // bf16: the backward panels in bf16 [n][panel_bf16_elems(G·H)] (wb unused); else null
  uint16_t* wrb;     // bf16 + projection: W_hr panels [nb][panel_bf16_elems(R)]; else null
  const float* rmask;    // recurrent dropout [B, R] or null: dh_{t-1} += (dA_t · W_hh) ⊙ rmask
  const uint8_t* zmask;  // zoneout [T, B, H] or null
  int64_t P() const { return k.panel; }
  bool bf16() const { return wbb != nullptr; }
  bool amx = false;      // bf16 on AMX tiles (use_amx)
  fused::Panels hh() const { return {&k, wbb ? nullptr : wb, wbb, s.G() * s.H, blocks(s.R, P()), amx}; }
  fused::Panels hr() const { return {&k, wrb ? nullptr : wr, wrb, s.R, blocks(s.H, P()), amx}; }
};

// dbias[g·H + j0 + c] += Σ_b da_t[b, g·H + j0 + c] for the block's columns (fp32 over the B rows in
// order, then added in double): the bias gradient without another pass over dA [T·B, GH] after the loop.
void add_block_bias_grad(int64_t B, int64_t H, int64_t G, const float* dat, int64_t j0, int64_t nj, double* dbias) {
  const int64_t GH = G * H;
  for (int64_t g = 0; g < G; ++g) {
    float part[64] = {};  // nj ≤ P ≤ 64
    for (int64_t b = 0; b < B; ++b) {
      const float* row = dat + b * GH + g * H + j0;
      for (int64_t c = 0; c < nj; ++c) part[c] += row[c];
    }
    for (int64_t c = 0; c < nj; ++c) dbias[g * H + j0 + c] += part[c];
  }
}

// dL/dh_t += dL/dy_t on valid steps (padding outputs are constants): row b, columns [j0, j0 + nj).
void add_dy(const Bwd& w, int64_t t, int64_t b, int64_t j0, int64_t nj, float* dhb) {
  if (!w.dy) return;
  const float* d = w.dy + (t * w.s.B + b) * w.ldy + j0;
  for (int64_t j = 0; j < nj; ++j) dhb[j] += d[j];
}

// Step t, block jb, first half: the cell's gate/state backward of the block's units (+ dy_t) → dA_t
// columns (and dGh's, h side apart), dc, dpeep, and the elementwise part of dL/dh_{t-1} (dhpv). Two-phase
// cells: phase 1 (Cho: n, z; r once dex is known, phase2_backward).
void backward_gate_block(const Bwd& w, int64_t t, int64_t jb, float* dhv, float* dhpv) {
  const DirShape& s = w.s;
  const int64_t B = s.B, H = s.H, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  const bool apart = w.cell.h_apart >= 0;
  float* dat = w.dA + t * B * GH;  // = the tape's activations A, overwritten row by row
  float* dgt = apart ? w.dGh + t * B * GH : dat;  // rows that multiply W_hh
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * w.P(), nj = std::min(w.P(), H - j0);
  const auto at = [](auto* p, int64_t off) { return p ? p + off : p; };
  const float* CP = at(w.CS, (t + rev) * B * H + j0);
  const float* CN = at(w.CS, (t + 1 - rev) * B * H + j0);
  const float* EXt = at(w.EX, t * B * H + j0);
  for (int64_t b = 0; b < B; ++b) {
    float* dhb = dhv + b * H + j0;
    float* dpb = dhpv + b * H + j0;
    float* dab = dat + b * GH + j0;
    const bool ok = !valid || valid[b];
    if (ok) add_dy(w, t, b, j0, nj, dhb);
    // Zoneout: where unit j kept its previous state, dL/dh_t (and dL/dc_t) goes to h_{t-1} (c_{t-1}) whole and
    // the cell's new values get none; elsewhere the cell's. (The tape's h_t, c_t are the cell's own where
    // the mask is 0; where it is 1 the cell's rows see zero gradients, so what they read there is moot.)
    float zh[64], zc[64];  // nj ≤ P ≤ 64
    const uint8_t* z = ok && w.zmask ? w.zmask + (t * B + b) * H + j0 : nullptr;
    float* dcb = w.dc ? w.dc + b * H + j0 : nullptr;
    if (z) w.k.zoneout_split_row(nj, z, dhb, dcb, zh, zc);
    if (!ok) {  // padded: no gate gradient; dh (and dc) pass through unchanged
      for (int64_t g = 0; g < G; ++g) {
        std::memset(dab + g * H, 0, nj * sizeof(float));
        if (apart) std::memset(dgt + b * GH + g * H + j0, 0, nj * sizeof(float));
      }
      std::memcpy(dpb, dhb, nj * sizeof(float));
      continue;
    }
    w.cell.backward(&w.k, {.n = nj,
                           .H = H,
                           .a = dab,
                           .da = dab,
                           .dgh = apart ? dgt + b * GH + j0 : nullptr,
                           .hp = w.HS + (t + rev) * B * H + b * H + j0,
                           .cp = at(CP, b * H),
                           .c = at(CN, b * H),
                           .ex = at(EXt, b * H),
                           .dh = dhb,
                           .dc = at(w.dc, b * H + j0),
                           .dhp = dpb,
                           .peep = at(w.p.w_ch, j0),
                           .dpeep = at(w.dpeep, j0),
                           .dex = nullptr});
    if (z) w.k.zoneout_merge_row(nj, zh, dpb, zc, dcb);
  }
  if (w.dbias) add_block_bias_grad(B, H, G, dat, j0, nj, w.dbias);
  if (w.dbias_hh) add_block_bias_grad(B, H, G, dgt, j0, nj, w.dbias_hh);
}

// Two-phase cells, middle phase of block jb (every da column of the gates past h_gates known): dex[:, block]
// = da[:, HG:] · W_hh[HG:, block] (Cho: d(r ⊙ h_prev) = da_n W_hn), then the cell's phase-2 rows on valid
// rows (Cho: da_r = dex ⊙ h_prev ⊙ r(1-r), dL/dh_{t-1} += dex ⊙ r; padded rows: da already 0).
void phase2_backward(const Bwd& w, int64_t t, int64_t jb, float* dhpv, const uint16_t* ab) {
  const DirShape& s = w.s;
  const int64_t B = s.B, H = s.H, GH = s.G() * H, HG = w.cell.h_gates * H;
  const float* hp = w.HS + (t + (s.reverse ? 1 : 0)) * B * H;
  float* dat = w.dA + t * B * GH;  // = the tape's activations: phase 1's gates are still there (Cho: r)
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * w.P(), nj = std::min(w.P(), H - j0);
  w.hh().gemm(jb, HG, GH - HG, B, dat + HG, GH, ab, nj, w.dex + j0, H, false);  // ab: da[:, HG:] in bf16
  for (int64_t b = 0; b < B; ++b)
    if (!valid || valid[b])
      w.cell.backward2(&w.k, {.n = nj,
                              .H = H,
                              .a = dat + b * GH + j0,
                              .da = dat + b * GH + j0,
                              .dgh = nullptr,
                              .hp = hp + b * H + j0,
                              .cp = nullptr,
                              .c = nullptr,
                              .ex = nullptr,
                              .dh = nullptr,
                              .dc = nullptr,
                              .dhp = dhpv + b * H + j0,
                              .peep = nullptr,
                              .dpeep = nullptr,
                              .dex = w.dex + b * H + j0});
}

// LSTM with projection, backward phase 1 of R block jr: dh_t[:, block] += dy_t on valid rows, kept in dhs
// (for dW_hr), and the elementwise part of dL/dh_{t-1}: dh_t itself on padded rows, 0 on valid ones.
void proj_backward_dh(const Bwd& w, int64_t t, int64_t jr, float* dhv, float* dhpv) {
  const int64_t B = w.s.B, R = w.s.R;
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jr * w.P(), nj = std::min(w.P(), R - j0);
  for (int64_t b = 0; b < B; ++b) {
    float* dhb = dhv + b * R + j0;
    float* dpb = dhpv + b * R + j0;
    const bool ok = !valid || valid[b];
    if (ok) add_dy(w, t, b, j0, nj, dhb);
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
  const int64_t B = s.B, H = s.H, R = s.R, G = s.G(), GH = G * H;
  const int rev = s.reverse ? 1 : 0;
  float* dat = w.dA + t * B * GH;  // = the tape's activations, overwritten row by row
  const float* cp = w.CS + (t + rev) * B * H;
  const float* cn = w.CS + (t + 1 - rev) * B * H;
  const uint8_t* valid = w.valid_all ? w.valid_all + t * B : nullptr;
  const int64_t j0 = jb * w.P(), nj = std::min(w.P(), H - j0);
  w.hr().gemm(jb, 0, R, B, dhv, R, ab, nj, w.dm + j0, H, false);  // ab: dh_t in bf16
  for (int64_t b = 0; b < B; ++b) {
    if (!valid || valid[b]) {
      w.cell.backward(&w.k, {.n = nj,
                             .H = H,
                             .a = dat + b * GH + j0,
                             .da = dat + b * GH + j0,
                             .dgh = nullptr,
                             .hp = nullptr,
                             .cp = cp + b * H + j0,
                             .c = cn + b * H + j0,
                             .ex = nullptr,
                             .dh = w.dm + b * H + j0,
                             .dc = w.dc + b * H + j0,
                             .dhp = nullptr,
                             .peep = w.p.w_ch ? w.p.w_ch + j0 : nullptr,
                             .dpeep = w.dpeep ? w.dpeep + j0 : nullptr,
                             .dex = nullptr});
    } else {
      for (int64_t g = 0; g < G; ++g) std::memset(dat + b * GH + g * H + j0, 0, nj * sizeof(float));
    }
  }
  if (w.dbias) add_block_bias_grad(B, H, G, dat, j0, nj, w.dbias);
}

// dh_{t-1}[:, j0 : j0 + nj] += dA_t[:, :K] · W_hh[:K, block jb] (ld: dh's row stride, R); with recurrent
// dropout the product goes through scratch [B, P] and is multiplied by the mask (h_{t-1} ⊙ rmask fed W_hh).
void add_dh_prev(const Bwd& w, int64_t jb, int64_t K, const float* da, int64_t lda, const uint16_t* ab, int64_t j0,
                 int64_t nj, float* dhpv, int64_t ld, std::vector<float>& scratch) {
  const int64_t B = w.s.B, P = w.P();
  if (!w.rmask) return w.hh().gemm(jb, 0, K, B, da, lda, ab, nj, dhpv + j0, ld, true);
  w.hh().gemm(jb, 0, K, B, da, lda, ab, nj, scratch.data(), P, false);
  for (int64_t b = 0; b < B; ++b) {
    const float* sc = scratch.data() + b * P;
    const float* m = w.rmask + b * ld + j0;
    float* d = dhpv + b * ld + j0;
    for (int64_t j = 0; j < nj; ++j) d[j] += sc[j] * m[j];
  }
}

// Packs this member's backward panels: W_hh columns [K = GH rows, N columns] in blocks [b0, b1).
void pack_backward(const Bwd& w, const float* m, int64_t K, int64_t N, int64_t b0, int64_t b1, float* f,
                   uint16_t* b) {
  if (w.bf16()) {
    fused::pack_backward_panels_bf16(m, K, N, b0, b1, b);
  } else {
    fused::pack_backward_panels(w.P(), m, K, N, b0, b1, f);
  }
}

// BPTT of an LSTM with projection: three phases per step (R blocks | H blocks | R blocks), a sync after
// the first two; the third and the next step's first touch the same R blocks on the same thread.
void proj_backward_member(const Bwd& w, StepTeam& team, int tid, float* dh, float* dhp) {
  const DirShape& s = w.s;
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, GH = s.G() * H, nb = blocks(H, w.P()), nr = blocks(R, w.P());
  float* dhv = dh;    // dL/dh_t        (swapped with dhpv after every step, same on every thread)
  float* dhpv = dhp;  // dL/dh_{t-1}
  int64_t b0, b1;
  team.span(tid, nr, b0, b1);
  pack_backward(w, w.p.w_hh, GH, R, b0, b1, w.wb, w.wbb);
  team.span(tid, nb, b0, b1);
  pack_backward(w, w.p.w_hr, R, H, b0, b1, w.wr, w.wrb);
  fused::Operand op(w.bf16(), B, GH);  // dh_t [B, R], then dA_t [B, GH]
  std::vector<float> scratch(w.rmask ? B * w.P() : 0);  // recurrent dropout: one block's product
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
      const int64_t j0 = jr * w.P(), nj = std::min(w.P(), R - j0);
      add_dh_prev(w, jr, GH, dat, GH, ab, j0, nj, dhpv, R, scratch);
    }
    std::swap(dhv, dhpv);
  }
  team.finish(tid);
}

// One member's part of BPTT: gate backward of its blocks, sync (dA_t complete), then
// dh_{t-1}[:, its blocks] += dA_t · W_hh[:, its blocks]. After a switch to solo, thread 0 owns them all.
void backward_member(const Bwd& w, StepTeam& team, int tid, float* dh, float* dhp) {
  const DirShape& s = w.s;
  const int64_t T = s.T, B = s.B, H = s.H, GH = s.G() * H, nb = blocks(H, w.P());
  float* dhv = dh;    // dL/dh_t        (swapped with dhpv after every step, same on every thread)
  float* dhpv = dhp;  // dL/dh_{t-1}
  int64_t b0, b1;
  team.span(tid, nb, b0, b1);
  pack_backward(w, w.p.w_hh, GH, H, b0, b1, w.wb, w.wbb);  // R = H here
  fused::Operand op(w.bf16(), B, GH);  // two-phase: da[:, HG:] (Cho's da_n [B, H]), then dA_t [B, K ≤ GH]
  std::vector<float> scratch(w.rmask ? B * w.P() : 0);  // recurrent dropout: one block's product
  team.sync(tid);
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;  // solo, and not thread 0
    for (int64_t jb = b0; jb < b1; ++jb) backward_gate_block(w, t, jb, dhv, dhpv);
    if (!team.solo()) team.sync(tid);
    team.span(tid, nb, b0, b1);
    if (b0 == b1) break;
    const int64_t K = w.cell.h_gates * H;  // rows of W_hh that multiply h_{t-1} directly: all, or Cho's r, z
    if (w.cell.two_phase()) {
      const uint16_t* an = op.set(B, GH - K, w.dA + t * B * GH + K, GH);  // da[:, K:] (Cho's da_n)
      for (int64_t jb = b0; jb < b1; ++jb) phase2_backward(w, t, jb, dhpv, an);
      if (!team.solo()) team.sync(tid);  // every da column of phase 2 known (Cho: da_r)
      team.span(tid, nb, b0, b1);
      if (b0 == b1) break;
    }
    const float* dgt = (w.cell.h_apart >= 0 ? w.dGh : w.dA) + t * B * GH;
    const uint16_t* ab = op.set(B, K, dgt, GH);
    const bool pairs = !ab && !w.rmask && K == w.hh().K;  // fp32, whole panels: two blocks per register block
    for (int64_t jb = b0; jb < b1; ++jb) {  // dh_{t-1}[:, block] += dA_t[:, :K] · W_hh[:K, block]
      const int64_t j0 = jb * w.P(), nj = std::min(w.P(), H - j0);
      if (pairs && jb + 1 < b1 && j0 + 2 * w.P() <= H) {  // blocks jb, jb + 1 (full): bitwise one at a time
        w.hh().gemm_pair(jb, B, dgt, GH, K, dgt, GH, w.P(), dhpv + j0, dhpv + j0 + w.P(), H, true, false);
        ++jb;
        continue;
      }
      add_dh_prev(w, jb, K, dgt, GH, ab, j0, nj, dhpv, H, scratch);
    }
    std::swap(dhv, dhpv);
  }
  team.finish(tid);
}
}  // namespace

float* fused_backward_loop(const DirShape& s, const DirParams& p, const DirTape& tape, const float* dy, int64_t ldy,
                           float* dA, float* dGh, float* dh, float* dhp, float* dc, float* dpeep, double* dbias,
                           float* dhs, double* dbias_hh) {
  const simd::RnnKernels& k = fused::kernels(s);
  const int64_t H = s.H, R = s.R, GH = s.G() * H, P = k.panel;
  const Cell& cell = cell_of(s.cell);
  const bool proj = fused::projected(s);
  RC_CHECK(!proj || dhs, "fused_backward_loop", "an LSTM with projection needs dhs [T, B, R]");
  RC_CHECK(!dbias || !cell.two_phase(), "fused_backward_loop",
           "dbias is not final after the gate block for a two-phase cell (Cho's da_r comes later in the step)");
  RC_CHECK(!dbias_hh || cell.h_apart >= 0, "fused_backward_loop",
           "dbias_hh is for cells whose h side stays apart (b_hh sees dGh there)");
  const bool bf = s.precision == Precision::bf16;
  RC_CHECK(!bf || bf16_target(k.target), "precision", "bf16 needs the avx512 target");
  // Panels (fp32, or bf16 only): every element written by the packing threads.
  Tensor wb = bf ? Tensor() : Tensor::uninitialized({blocks(R, P), GH, P});
  Tensor wr = proj && !bf ? Tensor::uninitialized({blocks(H, P), R, P}) : Tensor();
  fused::Bf16Buf wbb(bf ? blocks(R, P) * fused::panel_bf16_elems(GH) : 0);
  fused::Bf16Buf wrb(bf && proj ? blocks(H, P) * fused::panel_bf16_elems(R) : 0);
  Tensor dm = proj ? Tensor({s.B, H}) : Tensor();
  Tensor dex = cell.two_phase() ? Tensor({s.B, H}) : Tensor();
  const Bwd w{.s = s,
              .p = p,
              .cell = cell,
              .k = k,
              .A = tape.a.data(),
              .HS = tape.hs.data(),
              .CS = tape.cs.defined() ? tape.cs.data() : nullptr,
              .EX = tape.extra.defined() ? tape.extra.data() : nullptr,
              .valid_all = tape.valid.empty() ? nullptr : tape.valid.data(),
              .dy = dy,
              .ldy = ldy,
              .dA = dA,
              .dGh = dGh,
              .dc = dc,
              .dpeep = dpeep,
              .dex = dex.defined() ? dex.data() : nullptr,
              .wb = wb.defined() ? wb.data() : nullptr,
              .dbias = dbias,
              .dbias_hh = dbias_hh,
              .wr = wr.defined() ? wr.data() : nullptr,
              .dm = proj ? dm.data() : nullptr,
              .dhs = dhs,
              .wbb = wbb.p,
              .wrb = wrb.p,
              .rmask = p.rmask,
              .zmask = p.zmask,
              .amx = bf && use_amx(s)};
  fused::run_team(blocks(H, P), 2.0 * static_cast<double>(s.B) * static_cast<double>(GH) * static_cast<double>(R), [&](StepTeam& team, int tid) {
    if (proj) {
      proj_backward_member(w, team, tid, dh, dhp);
    } else {
      backward_member(w, team, tid, dh, dhp);
    }
  });
  return s.T % 2 ? dhp : dh;
}

}  // namespace recurrent::rnn
