// lstm_bn over a whole sequence, one direction: forward and the explicit BPTT in double (docs/cells.md
// "Recurrent batch-normalised LSTM"; Cooijmans et al. 2016). Contract: bn_forward / bn_backward in
// rnn_direction.h (the same as forward / backward there).
//
// Batch normalisation reduces over the batch, so unlike the row-by-row reference (rnn_reference.cpp) the
// time step is the outer loop: at time t, over the rows V_t valid at t (n_t = |V_t|),
//   u = W_ih x_t, v = W_hh h_{t-1}                          [n_t, 4H] (no biases: the norms would cancel them)
//   n_x = (u − μ_t(u)) / √(σ²_t(u) + ε)   n_h likewise      μ, σ² per feature over V_t (biased σ²), ε = 1e-5
//   a = γ_x ⊙ n_x + γ_h ⊙ n_h + b_ih + b_hh                  the LSTM's gates on a, c_t = f c_{t-1} + i g
//   n_c = (c_t − μ_t(c_t)) / √(σ²_t(c_t) + ε)             h_t = o ⊙ tanh(γ_c ⊙ n_c + β_c)
// In evaluation (p.bn_running) μ, σ² are the population statistics of step min(t, S-1) and the rows do not
// interact. Statistics are indexed by the time position t in both directions. Padded rows keep their state.
// Dimension legend: T steps, B batch, I input, H hidden, GH = 4H.
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "nn/cell.h"
#include "nn/rnn_direction.h"
#include "recurrent/core/error.h"

namespace recurrent::rnn {

// What backward needs: per row of each time step the reference's RefStep (nx, nh, gates, c, nc, h_{t-1},
// c_{t-1}: the derivatives are functions of these), and per time step the features' 1/σ and whether they
// came from the batch (training: the batch-norm backward has the two mean terms) or the population.
struct BnTape {
  std::vector<RefStep> rows;           // [T*B], index t*B + b
  std::vector<double> isx, ish, isc;   // [T, GH], [T, GH], [T, H]
  bool batch = true;                   // statistics of the batch (training) or the population (evaluation)
};

namespace {

constexpr double kBnEps = 1e-5;  // inside the root, as torch.nn.BatchNorm1d

// The rows of time t that are valid (all when there is no mask).
std::vector<int64_t> bn_rows_at(const uint8_t* valid_all, int64_t t, int64_t B) {
  std::vector<int64_t> v;
  for (int64_t b = 0; b < B; ++b)
    if (!valid_all || valid_all[t * B + b]) v.push_back(b);
  return v;
}

// Normalise feature k of every row in `vals` (one vector per valid row, N features each) in place:
// training: by the rows' own mean and biased variance (written to mean_out / var_out [N] when not null);
// evaluation: by rmean / rvar [N]. Keeps n (the normalised values) in `norm` and 1/σ in `is` [N].
void bn_normalise(std::vector<std::vector<double>*>& vals, std::vector<std::vector<double>*>& norm, int64_t N,
                  const float* rmean, const float* rvar, double* is, float* mean_out, float* var_out) {
  const double n = static_cast<double>(vals.size());
  for (int64_t k = 0; k < N; ++k) {
    double mu = 0.0, var = 0.0;
    if (rmean) {
      mu = rmean[k], var = rvar[k];
    } else {
      for (const auto* v : vals) mu += (*v)[k];
      mu /= n;
      for (const auto* v : vals) var += ((*v)[k] - mu) * ((*v)[k] - mu);
      var /= n;
      if (mean_out) mean_out[k] = static_cast<float>(mu), var_out[k] = static_cast<float>(var);
    }
    is[k] = 1.0 / std::sqrt(var + kBnEps);
    for (size_t r = 0; r < vals.size(); ++r) (*norm[r])[k] = ((*vals[r])[k] - mu) * is[k];
  }
}

// Backward of n = (v − μ)/σ for every feature k (d: dL/dn per valid row in, dL/dv out, in place):
//   batch statistics:  dv = (1/σ) (dn − mean_V(dn) − n ⊙ mean_V(dn ⊙ n))
//   population:        dv = dn / σ
void bn_normalise_backward(std::vector<std::vector<double>>& d, const std::vector<const std::vector<double>*>& norm,
                           int64_t N, const double* is, bool batch) {
  const double n = static_cast<double>(d.size());
  for (int64_t k = 0; k < N; ++k) {
    double m1 = 0.0, m2 = 0.0;
    if (batch) {
      for (size_t r = 0; r < d.size(); ++r) m1 += d[r][k], m2 += d[r][k] * (*norm[r])[k];
      m1 /= n, m2 /= n;
    }
    for (size_t r = 0; r < d.size(); ++r) d[r][k] = is[k] * (d[r][k] - m1 - (*norm[r])[k] * m2);
  }
}

double bn_norm2(const std::vector<double>& v) {
  double acc = 0.0;
  for (double e : v) acc += e * e;
  return std::sqrt(acc);
}

// One time step's forward over its valid rows V (states h, c [B][H] updated in place).
void bn_step_forward(const DirShape& s, const DirParams& p, const Cell& cell, const float* x, int64_t t,
                     const std::vector<int64_t>& V, std::vector<std::vector<double>>& h,
                     std::vector<std::vector<double>>& c, BnTape& bt, float* batch_row) {
  const int64_t B = s.B, H = s.H, I = s.I, GH = 4 * H;
  std::vector<std::vector<double>*> u, v, nu, nv, cv, nc;
  std::vector<double> xv(I);
  for (int64_t b : V) {
    RefStep& r = bt.rows[t * B + b];
    r.valid = true;
    r.hp = h[b], r.cp = c[b];
    for (int64_t i = 0; i < I; ++i) xv[i] = x[(t * B + b) * I + i];
    r.xa.assign(GH, 0.0), r.ha.assign(GH, 0.0), r.nx.assign(GH, 0.0), r.nh.assign(GH, 0.0), r.gate.assign(GH, 0.0);
    r.nc.assign(H, 0.0), r.m.assign(H, 0.0);
    ref_affine(p.w_ih, nullptr, xv.data(), I, 0, GH, r.xa.data());    // u = W_ih x_t
    ref_affine(p.w_hh, nullptr, r.hp.data(), H, 0, GH, r.ha.data());  // v = W_hh h_{t-1}
    u.push_back(&r.xa), v.push_back(&r.ha), nu.push_back(&r.nx), nv.push_back(&r.nh);
    cv.push_back(&r.c), nc.push_back(&r.nc);
  }
  const BnRunning* run = p.bn_running;
  const int64_t ts = run ? std::min(t, run->S - 1) : 0;  // the population step (beyond S: the last)
  const auto at = [&](const float* a, int64_t w) { return run ? a + ts * w : nullptr; };
  float* bo = batch_row;  // training: mean_ih, var_ih, mean_hh, var_hh [GH], mean_c, var_c [H]
  bn_normalise(u, nu, GH, at(run ? run->mean_ih : nullptr, GH), at(run ? run->var_ih : nullptr, GH),
               bt.isx.data() + t * GH, bo, bo ? bo + GH : nullptr);
  bn_normalise(v, nv, GH, at(run ? run->mean_hh : nullptr, GH), at(run ? run->var_hh : nullptr, GH),
               bt.ish.data() + t * GH, bo ? bo + 2 * GH : nullptr, bo ? bo + 3 * GH : nullptr);
  for (int64_t b : V) {
    RefStep& r = bt.rows[t * B + b];
    for (int64_t k = 0; k < GH; ++k) {  // xa + ha = γ_x n_x + b_ih + γ_h n_h + b_hh (the cell sums them)
      r.xa[k] = p.ln_ih[k] * r.nx[k] + (p.b_ih ? p.b_ih[k] : 0.0);
      r.ha[k] = p.ln_hh[k] * r.nh[k] + (p.b_hh ? p.b_hh[k] : 0.0);
    }
    cell.ref_forward(s, p, r);  // gates, c_t
  }
  bn_normalise(cv, nc, H, at(run ? run->mean_c : nullptr, H), at(run ? run->var_c : nullptr, H),
               bt.isc.data() + t * H, bo ? bo + 4 * GH : nullptr, bo ? bo + 4 * GH + H : nullptr);
  for (int64_t b : V) {
    RefStep& r = bt.rows[t * B + b];
    for (int64_t j = 0; j < H; ++j) r.m[j] = r.gate[3 * H + j] * std::tanh(p.ln_c[j] * r.nc[j] + p.ln_cb[j]);
    h[b] = r.m, c[b] = r.c;
  }
}

}  // namespace

void bn_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape) {
  const int64_t T = s.T, B = s.B, H = s.H, GH = 4 * H;
  RC_CHECK(s.R == H && p.ln_ih && p.ln_hh && p.ln_c && p.ln_cb, "lstm_bn",
           "needs its gains bn_weight_ih, bn_weight_hh, bn_weight_c, bn_bias_c and no projection");
  RC_CHECK(!has_regularisers(p), "lstm_bn", "recurrent dropout and zoneout are not implemented for lstm_bn");
  RC_CHECK(!p.bn_running || p.bn_running->S >= 1, "lstm_bn", "population statistics with no step");
  const Cell& cell = cell_of(s.cell);
  auto bt = std::make_shared<BnTape>();
  bt->rows.resize(T * B);
  bt->isx.assign(T * GH, 0.0), bt->ish.assign(T * GH, 0.0), bt->isc.assign(T * H, 0.0);
  bt->batch = !p.bn_running;
  tape = DirTape{};
  const int64_t W = bn_batch_width(GH, H);
  if (bt->batch) tape.bn_batch = Tensor({T, W});  // steps with no valid row keep zeros
  std::vector<std::vector<double>> h(B, std::vector<double>(H, 0.0)), c = h;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      if (h0) h[b][j] = h0[b * H + j];
      if (c0) c[b][j] = c0[b * H + j];
    }
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    const std::vector<int64_t> V = bn_rows_at(valid_all, t, B);
    if (!V.empty())
      bn_step_forward(s, p, cell, x, t, V, h, c, *bt, bt->batch ? tape.bn_batch.data() + t * W : nullptr);
    for (int64_t b = 0; b < B; ++b) {  // y: h_t on valid rows, 0 on padded ones
      float* yr = y + (t * B + b) * ldy;
      const bool ok = bt->rows[t * B + b].valid;
      for (int64_t j = 0; j < H; ++j) yr[j] = static_cast<float>((accumulate ? yr[j] : 0.0f) + (ok ? h[b][j] : 0.0));
    }
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      if (h_n) h_n[b * H + j] = static_cast<float>(h[b][j]);
      if (c_n) c_n[b * H + j] = static_cast<float>(c[b][j]);
    }
  tape.bn = bt;
}

namespace {

struct BnGrads {  // double accumulators, flushed into the caller's floats at the end
  std::vector<double> w_ih, w_hh, b, g_ih, g_hh, g_c, b_c;
};

// One time step's backward over its valid rows V: dh, dc [B][H] hold dL/dh_t, dL/dc_t (from later steps and
// y_t) and leave with dL/dh_{t-1}, dL/dc_{t-1}; dx [T, B, I] added to.
void bn_step_backward(const DirShape& s, const DirParams& p, const Cell& cell, const float* x, int64_t t,
                      const std::vector<int64_t>& V, const BnTape& bt, std::vector<std::vector<double>>& dh,
                      std::vector<std::vector<double>>& dc, float* dx, BnGrads& gr) {
  const int64_t B = s.B, H = s.H, I = s.I, GH = 4 * H;
  RefGrads unused(DirShape{s.cell, 1, 1, 1, 1, 1, false});
  std::vector<const std::vector<double>*> nc, nx, nh;
  std::vector<std::vector<double>> dnc, dnx, dnh;
  for (int64_t b : V) {  // m = o ⊙ tanh(u), u = γ_c n_c + β_c: dn_c = dm ⊙ o ⊙ (1 − tanh²u) ⊙ γ_c
    const RefStep& r = bt.rows[t * B + b];
    nc.push_back(&r.nc), nx.push_back(&r.nx), nh.push_back(&r.nh);
    std::vector<double> d(H);
    for (int64_t j = 0; j < H; ++j) {
      const double tu = std::tanh(p.ln_c[j] * r.nc[j] + p.ln_cb[j]);
      const double du = dh[b][j] * r.gate[3 * H + j] * (1 - tu * tu);
      gr.g_c[j] += du * r.nc[j];
      gr.b_c[j] += du;
      d[j] = du * p.ln_c[j];
    }
    dnc.push_back(std::move(d));
  }
  bn_normalise_backward(dnc, nc, H, bt.isc.data() + t * H, bt.batch);  // → dL/dc_t through the norm
  RefBack d;
  for (size_t r = 0; r < V.size(); ++r) {
    const int64_t b = V[r];
    const RefStep& st = bt.rows[t * B + b];
    d.dm = dh[b];
    d.dc = dc[b];
    for (int64_t j = 0; j < H; ++j) d.dc[j] += dnc[r][j];
    d.dxa.assign(GH, 0.0), d.dha.assign(GH, 0.0);
    cell.ref_backward(s, p, st, d, unused);  // d.dxa: dL/da (pre-activations), d.dc: dL/dc_{t-1}
    dc[b] = d.dc;
    std::vector<double> gx(GH), gh(GH);
    for (int64_t k = 0; k < GH; ++k) {  // a = γ_x n_x + γ_h n_h + b_ih + b_hh
      gr.b[k] += d.dxa[k];
      gr.g_ih[k] += d.dxa[k] * st.nx[k];
      gr.g_hh[k] += d.dxa[k] * st.nh[k];
      gx[k] = d.dxa[k] * p.ln_ih[k];
      gh[k] = d.dxa[k] * p.ln_hh[k];
    }
    dnx.push_back(std::move(gx)), dnh.push_back(std::move(gh));
  }
  bn_normalise_backward(dnx, nx, GH, bt.isx.data() + t * GH, bt.batch);  // dL/du, u = W_ih x_t
  bn_normalise_backward(dnh, nh, GH, bt.ish.data() + t * GH, bt.batch);  // dL/dv, v = W_hh h_{t-1}
  for (size_t r = 0; r < V.size(); ++r) {
    const int64_t b = V[r];
    const RefStep& st = bt.rows[t * B + b];
    const float* xr = x + (t * B + b) * I;
    std::vector<double> dhp(H, 0.0);
    for (int64_t k = 0; k < GH; ++k) {
      for (int64_t i = 0; i < I; ++i) {
        gr.w_ih[k * I + i] += dnx[r][k] * xr[i];
        if (dx) dx[(t * B + b) * I + i] += static_cast<float>(p.w_ih[k * I + i] * dnx[r][k]);
      }
      for (int64_t j = 0; j < H; ++j) {
        gr.w_hh[k * H + j] += dnh[r][k] * st.hp[j];
        dhp[j] += p.w_hh[k * H + j] * dnh[r][k];
      }
    }
    dh[b] = dhp;
  }
}

void bn_flush(const std::vector<double>& a, float* out) {
  if (out)
    for (size_t i = 0; i < a.size(); ++i) out[i] += static_cast<float>(a[i]);
}

}  // namespace

void bn_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                 const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0, const DirGrads& g) {
  const int64_t T = s.T, B = s.B, H = s.H, I = s.I, GH = 4 * H;
  RC_CHECK(tape.bn != nullptr, "lstm_bn", "backward without the forward's tape (a forward without keep_tape?)");
  const BnTape& bt = *tape.bn;
  const Cell& cell = cell_of(s.cell);
  BnGrads gr{std::vector<double>(GH * I, 0.0), std::vector<double>(GH * H, 0.0), std::vector<double>(GH, 0.0),
             std::vector<double>(GH, 0.0), std::vector<double>(GH, 0.0), std::vector<double>(H, 0.0),
             std::vector<double>(H, 0.0)};
  std::vector<std::vector<double>> dh(B, std::vector<double>(H, 0.0)), dc = dh;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      if (dh_n) dh[b][j] = dh_n[b * H + j];
      if (dc_n) dc[b][j] = dc_n[b * H + j];
    }
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    std::vector<int64_t> V;
    for (int64_t b = 0; b < B; ++b) {
      const bool ok = bt.rows[t * B + b].valid;
      if (ok) V.push_back(b);
      if (ok && dy)
        for (int64_t j = 0; j < H; ++j) dh[b][j] += dy[(t * B + b) * ldy + j];
      if (g.dh_norm) g.dh_norm[t * B + b] = static_cast<float>(bn_norm2(dh[b]));
      if (g.dc_norm) g.dc_norm[t * B + b] = static_cast<float>(bn_norm2(dc[b]));
    }
    if (!V.empty()) bn_step_backward(s, p, cell, x, t, V, bt, dh, dc, dx, gr);  // padded rows: passed through
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      if (dh0) dh0[b * H + j] = static_cast<float>(dh[b][j]);
      if (dc0) dc0[b * H + j] = static_cast<float>(dc[b][j]);
    }
  bn_flush(gr.w_ih, g.w_ih);
  bn_flush(gr.w_hh, g.w_hh);
  bn_flush(gr.b, g.b_ih);  // b_ih and b_hh enter as their sum: the same gradient
  bn_flush(gr.b, g.b_hh);
  bn_flush(gr.g_ih, g.ln_ih);
  bn_flush(gr.g_hh, g.ln_hh);
  bn_flush(gr.g_c, g.ln_c);
  bn_flush(gr.b_c, g.ln_cb);
}

}  // namespace recurrent::rnn
