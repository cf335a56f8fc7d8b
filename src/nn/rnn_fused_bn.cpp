// lstm_bn's fp32 engine (docs/cells.md "Recurrent batch-normalised LSTM"; Cooijmans et al. 2016), one direction,
// forward and BPTT; the double engine beside it (rnn_bn.cpp) is its oracle and the reference engine.
// Contracts: bn_fused_forward / bn_fused_backward in rnn_direction.h (those of forward / backward there).
//
// Batch norm reduces over the batch's rows, so the step is the unit of work and every product spans all rows:
//   forward   1 GEMM  A[T*B, 4H] = X W_ihᵀ (all steps); per step t: 1 GEMM NH_t = h_{t-1} W_hhᵀ [B, 4H]; the
//             column statistics of A_t and NH_t over the rows valid at t (training) or the population's
//             (evaluation) and the norms NX_t, NH_t; A_t = γ_x NX_t + γ_h NH_t; the LSTM gate rows (in place, c_t;
//             bias b_ih + b_hh); c_t's column statistics, n_c → EX_t; h_t = o ⊙ tanh(γ_c n_c + β_c). Padded rows
//             keep their state. Every pass but the γ-weighted sum is the target's Highway kernel
//             (kernels/simd/cells/lstm_bn-inl.h, lstm-inl.h).
//   backward  per step: through h_t's tanh and the c-norm (its column means), the gates, the two norms (their
//             column means) → dU_t over NX_t, dV_t over NH_t; 1 GEMM dh_{t-1} = dV_t W_hh. After the loop:
//             dX = dU W_ih, dW_ih = dUᵀ X, dW_hh = dVᵀ H_prev (1 GEMM each); the gains', β_c's and the biases'
//             sums: each step's in float (the kernels), the steps' in double.
// Tape: A [T, B, 4H] gate activations; NX, NH [T, B, 4H] the norms; HS, CS [T+1, B, H] states (slots as
// rnn_direction.h); EX [T, B, H] n_c; ln_stats [T, 2·4H + H] each step's 1/σ (x, h, c). Bytes per token:
// 4·(12H + 3H) — the norms and the activations are all backward's derivatives need.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "nn/cell.h"
#include "nn/rnn_fused.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent::rnn {

namespace {

struct BnFused {
  const DirShape& s;
  const DirParams& p;
  const simd::RnnKernels& k;
  const uint8_t* valid_all;  // [T, B] or null
  float *A, *NX, *NH, *ST, *HS, *CS, *EX;
  const float* bias;  // b_ih + b_hh [4H] or null
  int64_t slot_prev(int64_t t) const { return t + (s.reverse ? 1 : 0); }
  int64_t slot_new(int64_t t) const { return t + (s.reverse ? 0 : 1); }
  const uint8_t* valid_at(int64_t t) const { return valid_all ? valid_all + t * s.B : nullptr; }
  bool any_valid(int64_t t) const {
    const uint8_t* v = valid_at(t);
    return !v || std::any_of(v, v + s.B, [](uint8_t e) { return e != 0; });
  }
};

// One time step forward (all rows; padded ones then keep their state). batch_row: bn_batch's row t or null.
void bn_fused_step(const BnFused& F, int64_t t, float* batch_row, std::vector<float>& mu) {
  const DirShape& s = F.s;
  const DirParams& p = F.p;
  const int64_t B = s.B, H = s.H, GH = 4 * H;
  const float* hp = F.HS + F.slot_prev(t) * B * H;
  const float* cp = F.CS + F.slot_prev(t) * B * H;
  float *hn = F.HS + F.slot_new(t) * B * H, *cn = F.CS + F.slot_new(t) * B * H;
  float *At = F.A + t * B * GH, *NXt = F.NX + t * B * GH, *NHt = F.NH + t * B * GH, *EXt = F.EX + t * B * H;
  float* is = F.ST + t * (2 * GH + H);  // 1/σ: x side [4H], h side [4H], c [H]
  const uint8_t* v = F.valid_at(t);
  const BnRunning* run = p.bn_running;
  const int64_t ts = run ? std::min(t, run->S - 1) : 0;  // the population's step (beyond S: the last)
  const auto pop = [&](const float* a, int64_t w) { return run ? a + ts * w : nullptr; };
  float* bo = batch_row;  // mean_ih, var_ih, mean_hh, var_hh [4H], mean_c, var_c [H]
  const auto out = [&](int64_t at) { return bo ? bo + at : nullptr; };
  gemm(Trans::N, Trans::T, B, GH, H, 1.0f, hp, H, p.w_hh, H, 0.0f, NHt, GH);  // NH_t = h_{t-1} W_hhᵀ
  F.k.bn_columns({.B = B, .N = GH, .ld = GH, .m = At, .out = NXt, .valid = v,
                  .rmean = pop(run ? run->mean_ih : nullptr, GH), .rvar = pop(run ? run->var_ih : nullptr, GH),
                  .mean = out(0), .var = out(GH), .mu = mu.data(), .isd = is});
  F.k.bn_columns({.B = B, .N = GH, .ld = GH, .m = NHt, .out = NHt, .valid = v,
                  .rmean = pop(run ? run->mean_hh : nullptr, GH), .rvar = pop(run ? run->var_hh : nullptr, GH),
                  .mean = out(2 * GH), .var = out(3 * GH), .mu = mu.data(), .isd = is + GH});
  for (int64_t r = 0; r < B * GH; r += GH)  // a = γ_x n_x + γ_h n_h (the gate rows add b_ih + b_hh)
    for (int64_t j = 0; j < GH; ++j) At[r + j] = p.ln_ih[j] * NXt[r + j] + p.ln_hh[j] * NHt[r + j];
  F.k.lstm_forward_rows(B, H, H, At, GH, F.bias, nullptr, cp, cn, hn);  // gates in place, c_t (h: o ⊙ tanh c_t, replaced)
  F.k.bn_columns({.B = B, .N = H, .ld = H, .m = cn, .out = EXt, .valid = v,
                  .rmean = pop(run ? run->mean_c : nullptr, H), .rvar = pop(run ? run->var_c : nullptr, H),
                  .mean = out(4 * GH), .var = out(4 * GH + H), .mu = mu.data(), .isd = is + 2 * GH});
  F.k.lstm_bn_h_rows(B, H, At, EXt, p.ln_c, p.ln_cb, v, hp, cp, hn, cn);  // h_t; padded rows keep h, c
}

}  // namespace

void bn_fused_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                      const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape) {
  const int64_t T = s.T, B = s.B, H = s.H, I = s.I, GH = 4 * H;
  RC_CHECK(s.R == H && p.ln_ih && p.ln_hh && p.ln_c && p.ln_cb, "lstm_bn",
           "needs its gains bn_weight_ih, bn_weight_hh, bn_weight_c, bn_bias_c and no projection");
  RC_CHECK(!has_regularisers(p), "lstm_bn", "recurrent dropout and zoneout are not implemented for lstm_bn");
  RC_CHECK(s.precision == Precision::fp32, "precision", "lstm_bn runs in fp32 only");
  RC_CHECK(!p.bn_running || p.bn_running->S >= 1, "lstm_bn", "population statistics with no step");
  tape = DirTape{};
  tape.a = Tensor::uninitialized({T, B, GH});
  tape.nx = Tensor::uninitialized({T, B, GH});
  tape.nh = Tensor::uninitialized({T, B, GH});
  tape.ln_stats = Tensor({T, 2 * GH + H});
  tape.hs = Tensor::uninitialized({T + 1, B, H});
  tape.cs = Tensor::uninitialized({T + 1, B, H});
  tape.extra = Tensor({T, B, H});
  if (!p.bn_running) tape.bn_batch = Tensor({T, bn_batch_width(GH, H)});  // steps with no valid row keep zeros
  std::vector<float> bias;
  if (p.b_ih || p.b_hh) {
    bias.assign(GH, 0.0f);
    for (int64_t j = 0; j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (p.b_hh ? p.b_hh[j] : 0.0f);
  }
  const BnFused F{.s = s, .p = p, .k = fused::kernels(s), .valid_all = valid_all, .A = tape.a.data(),
                  .NX = tape.nx.data(), .NH = tape.nh.data(), .ST = tape.ln_stats.data(), .HS = tape.hs.data(),
                  .CS = tape.cs.data(), .EX = tape.extra.data(), .bias = bias.empty() ? nullptr : bias.data()};
  gemm(Trans::N, Trans::T, T * B, GH, I, 1.0f, x, I, p.w_ih, I, 0.0f, F.A, GH);  // A = X W_ihᵀ
  const int64_t h0slot = s.reverse ? T : 0;
  for (int64_t i = 0; i < B * H; ++i) {
    F.HS[h0slot * B * H + i] = h0 ? h0[i] : 0.0f;
    F.CS[h0slot * B * H + i] = c0 ? c0[i] : 0.0f;
  }
  std::vector<float> mu(2 * GH);  // bn_columns' scratch
  const int64_t W = bn_batch_width(GH, H);
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    if (F.any_valid(t)) {
      bn_fused_step(F, t, p.bn_running ? nullptr : tape.bn_batch.data() + t * W, mu);
    } else {  // no row at this step: every state passes through
      std::memcpy(F.HS + F.slot_new(t) * B * H, F.HS + F.slot_prev(t) * B * H, B * H * sizeof(float));
      std::memcpy(F.CS + F.slot_new(t) * B * H, F.CS + F.slot_prev(t) * B * H, B * H * sizeof(float));
    }
    const float* hn = F.HS + F.slot_new(t) * B * H;
    const uint8_t* v = F.valid_at(t);
    for (int64_t b = 0; b < B; ++b) {
      float* yr = y + (t * B + b) * ldy;
      const bool ok = !v || v[b];
      for (int64_t j = 0; j < H; ++j) yr[j] = (accumulate ? yr[j] : 0.0f) + (ok ? hn[b * H + j] : 0.0f);
    }
  }
  const int64_t last = s.reverse ? 0 : T;
  if (h_n) std::memcpy(h_n, F.HS + last * B * H, B * H * sizeof(float));
  if (c_n) std::memcpy(c_n, F.CS + last * B * H, B * H * sizeof(float));
  if (valid_all) tape.valid.assign(valid_all, valid_all + T * B);
}

namespace {

// Parameter-gradient sums: each step's in float (the kernels add into them), the steps' in double.
// b (b_ih and b_hh alike), γ_x, γ_h [4H]; γ_c, β_c [H].
struct BnFusedAcc {
  std::vector<float> b, gx, gh, gc, bc;
  std::vector<double> sb, sgx, sgh, sgc, sbc;
  void flush_step() {
    for (auto [f, d] : {std::pair{&b, &sb}, {&gx, &sgx}, {&gh, &sgh}, {&gc, &sgc}, {&bc, &sbc}}) {
      for (size_t i = 0; i < f->size(); ++i) (*d)[i] += (*f)[i];
      std::fill(f->begin(), f->end(), 0.0f);
    }
  }
};

struct BnBackScratch {
  std::vector<float> dnc, da, dnx, dnh, dhp;  // [B, H], [B, 4H] ×3, [B, H]
};

// One time step backward over its rows: dh, dc [B, H] hold dL/dh_t (y_t's part added), dL/dc_t and leave with
// dL/dh_{t-1}, dL/dc_{t-1} (padded rows: unchanged); NX_t, NH_t are overwritten by dL/du, dL/dv (0 on padding).
void bn_fused_step_backward(const BnFused& F, int64_t t, float* dh, float* dc, BnBackScratch& w, BnFusedAcc& acc) {
  const DirShape& s = F.s;
  const DirParams& p = F.p;
  const simd::RnnKernels& k = F.k;
  const int64_t B = s.B, H = s.H, GH = 4 * H;
  const float* At = F.A + t * B * GH;
  const float* EXt = F.EX + t * B * H;
  const float* cp = F.CS + F.slot_prev(t) * B * H;
  float *NXt = F.NX + t * B * GH, *NHt = F.NH + t * B * GH;
  const float* is = F.ST + t * (2 * GH + H);
  const uint8_t* v = F.valid_at(t);
  const bool batch = !p.bn_running;
  for (int64_t b = 0; b < B; ++b)  // through h_t = o ⊙ tanh(γ_c n_c + β_c): da_o, dL/dn_c
    if (!v || v[b])
      k.lstm_bn_out_backward_row(H, At + b * GH, EXt + b * H, p.ln_c, p.ln_cb, dh + b * H, w.da.data() + b * GH,
                                 w.dnc.data() + b * H, acc.gc.data(), acc.bc.data());
  k.bn_columns_backward({.B = B, .N = H, .d = w.dnc.data(), .nrm = EXt, .out = w.dnc.data(), .valid = v,
                         .isd = is + 2 * GH, .batch = batch});  // → dL/dc_t through the c-norm
  for (int64_t b = 0; b < B; ++b)  // through the gates and a = γ_x n_x + γ_h n_h + b
    if (!v || v[b])
      k.lstm_bn_gates_backward_row({.H = H, .a = At + b * GH, .cp = cp + b * H, .dcn = w.dnc.data() + b * H,
                                    .dc = dc + b * H, .da = w.da.data() + b * GH, .nx = NXt + b * GH,
                                    .nh = NHt + b * GH, .gx = p.ln_ih, .gh = p.ln_hh, .dnx = w.dnx.data() + b * GH,
                                    .dnh = w.dnh.data() + b * GH, .db = acc.b.data(), .dgx = acc.gx.data(),
                                    .dgh = acc.gh.data()});
  k.bn_columns_backward({.B = B, .N = GH, .d = w.dnx.data(), .nrm = NXt, .out = NXt, .valid = v, .isd = is,
                         .batch = batch});  // dL/du, u = x_t W_ihᵀ
  k.bn_columns_backward({.B = B, .N = GH, .d = w.dnh.data(), .nrm = NHt, .out = NHt, .valid = v, .isd = is + GH,
                         .batch = batch});  // dL/dv, v = h_{t-1} W_hhᵀ
  gemm(Trans::N, Trans::N, B, H, GH, 1.0f, NHt, GH, p.w_hh, H, 0.0f, w.dhp.data(), H);  // dh_{t-1} = dV_t W_hh
  for (int64_t b = 0; b < B; ++b)
    if (!v || v[b]) std::memcpy(dh + b * H, w.dhp.data() + b * H, H * sizeof(float));
  acc.flush_step();
}

float bn_fused_norm(const float* v, int64_t n) {
  double acc = 0.0;
  for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(v[j]) * v[j];
  return static_cast<float>(std::sqrt(acc));
}

void bn_fused_flush(const std::vector<double>& a, float* out) {
  if (out)
    for (size_t i = 0; i < a.size(); ++i) out[i] += static_cast<float>(a[i]);
}

}  // namespace

void bn_fused_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
                       int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
                       const DirGrads& g) {
  const int64_t T = s.T, B = s.B, H = s.H, I = s.I, GH = 4 * H;
  RC_CHECK(tape.nx.defined() && tape.nh.defined(), "lstm_bn", "backward without the forward's tape");
  const BnFused F{.s = s, .p = p, .k = fused::kernels(s), .valid_all = tape.valid.empty() ? nullptr : tape.valid.data(),
                  .A = tape.a.data(), .NX = tape.nx.data(), .NH = tape.nh.data(), .ST = tape.ln_stats.data(),
                  .HS = tape.hs.data(), .CS = tape.cs.data(), .EX = tape.extra.data(), .bias = nullptr};
  std::vector<float> dh(B * H, 0.0f), dc(B * H, 0.0f);
  if (dh_n) std::memcpy(dh.data(), dh_n, B * H * sizeof(float));
  if (dc_n) std::memcpy(dc.data(), dc_n, B * H * sizeof(float));
  BnFusedAcc acc{std::vector<float>(GH, 0.0f),  std::vector<float>(GH, 0.0f),  std::vector<float>(GH, 0.0f),
                 std::vector<float>(H, 0.0f),   std::vector<float>(H, 0.0f),   std::vector<double>(GH, 0.0),
                 std::vector<double>(GH, 0.0),  std::vector<double>(GH, 0.0),  std::vector<double>(H, 0.0),
                 std::vector<double>(H, 0.0)};
  BnBackScratch w{std::vector<float>(B * H, 0.0f), std::vector<float>(B * GH, 0.0f), std::vector<float>(B * GH, 0.0f),
                  std::vector<float>(B * GH, 0.0f), std::vector<float>(B * H, 0.0f)};
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    const uint8_t* v = F.valid_at(t);
    for (int64_t b = 0; b < B; ++b) {
      if (dy && (!v || v[b]))
        for (int64_t j = 0; j < H; ++j) dh[b * H + j] += dy[(t * B + b) * ldy + j];
      if (g.dh_norm) g.dh_norm[t * B + b] = bn_fused_norm(dh.data() + b * H, H);
      if (g.dc_norm) g.dc_norm[t * B + b] = bn_fused_norm(dc.data() + b * H, H);
    }
    if (F.any_valid(t)) {
      bn_fused_step_backward(F, t, dh.data(), dc.data(), w, acc);
    } else {  // no row at this step: nothing reaches the weights
      std::fill(F.NX + t * B * GH, F.NX + (t + 1) * B * GH, 0.0f);
      std::fill(F.NH + t * B * GH, F.NH + (t + 1) * B * GH, 0.0f);
    }
  }
  if (dh0) std::memcpy(dh0, dh.data(), B * H * sizeof(float));
  if (dc0) std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  bn_fused_flush(acc.sb, g.b_ih);  // b_ih and b_hh enter as their sum: the same gradient
  bn_fused_flush(acc.sb, g.b_hh);
  bn_fused_flush(acc.sgx, g.ln_ih);
  bn_fused_flush(acc.sgh, g.ln_hh);
  bn_fused_flush(acc.sgc, g.ln_c);
  bn_fused_flush(acc.sbc, g.ln_cb);
  const float* dU = F.NX;  // [T*B, 4H] dL/d(X W_ihᵀ)
  const float* dV = F.NH;  // [T*B, 4H] dL/d(h_{t-1} W_hhᵀ)
  if (dx) gemm(Trans::N, Trans::N, T * B, I, GH, 1.0f, dU, GH, p.w_ih, I, 1.0f, dx, I);
  if (g.w_ih) gemm(Trans::T, Trans::N, GH, I, T * B, 1.0f, dU, GH, x, I, 1.0f, g.w_ih, I);
  const float* hprev = F.HS + (s.reverse ? 1 : 0) * B * H;  // slots [rev, T + rev): h_{t-1} of time t
  if (g.w_hh) gemm(Trans::T, Trans::N, GH, H, T * B, 1.0f, dV, GH, hprev, H, 1.0f, g.w_hh, H);
}

}  // namespace recurrent::rnn
