// The plain step-by-step reference of one direction: scalar loops in double, written independently
// of the fused kernels (no GEMM, no shared float code), per-step weight-gradient accumulation.
// It is the oracle the fast path (rnn_direction.cpp) is tested against on every option, and a
// fallback (set_rnn_engine(RnnEngine::reference)). The products (W_ih x, W_hh h, the projection) are here;
// each cell's equations are its Cell::ref_forward / ref_backward (cell_*.cpp). Equations: docs/cells.md.
#include <cmath>
#include <cstring>
#include <vector>

#include "nn/cell.h"
#include "nn/rnn_direction.h"

namespace recurrent::rnn {

namespace {

double norm2(const std::vector<double>& v) {
  double acc = 0.0;
  for (double e : v) acc += e * e;
  return std::sqrt(acc);
}

}  // namespace

// Zoneout's weight on the previous state of unit j at row tb = t·B + b: the mask bit, or p (the expectation).
static double zone_weight(const DirParams& p, int64_t tb, int64_t H, int64_t j) {
  return p.zmask ? static_cast<double>(p.zmask[tb * H + j]) : static_cast<double>(p.zoneout);
}

struct RefTape {
  std::vector<RefStep> steps;  // [T*B], index t*B + b
};

// One step of one row: fills c from x (I) and c.hp (R), c.cp (H): the products here, the cell's
// equations in between (it may add products of its own: Cho's W_hn (r ⊙ h)).
// v ← γ ⊙ LN(v) + β (β may be null), n = LN(v) = (v − μ)/σ, σ = √(var + 1e-5); returns 1/σ.
static double ref_layer_norm(std::vector<double>& v, const float* gamma, const float* beta, std::vector<double>& n) {
  const double N = static_cast<double>(v.size());
  double mu = 0.0, var = 0.0;
  for (double e : v) mu += e;
  mu /= N;
  for (double e : v) var += (e - mu) * (e - mu);
  const double isd = 1.0 / std::sqrt(var / N + 1e-5);
  n.resize(v.size());
  for (size_t j = 0; j < v.size(); ++j) {
    n[j] = (v[j] - mu) * isd;
    v[j] = gamma[j] * n[j] + (beta ? beta[j] : 0.0);
  }
  return isd;
}

// Backward of y = γ ⊙ n + β, n = LN(v): dy → dv in place; dgamma += dy ⊙ n, dbeta += dy.
static void ref_layer_norm_backward(std::vector<double>& d, const std::vector<double>& n, const float* gamma,
                                    double isd, std::vector<double>& dgamma, std::vector<double>& dbeta) {
  const double N = static_cast<double>(d.size());
  double m1 = 0.0, m2 = 0.0;
  for (size_t j = 0; j < d.size(); ++j) {
    dgamma[j] += d[j] * n[j];
    dbeta[j] += d[j];
    m1 += d[j] * gamma[j];
    m2 += d[j] * gamma[j] * n[j];
  }
  m1 /= N, m2 /= N;
  for (size_t j = 0; j < d.size(); ++j) d[j] = isd * (d[j] * gamma[j] - m1 - n[j] * m2);
}

// rm: recurrent dropout, this row's mask [R] (W_hh sees h_prev ⊙ rm), or null.
static void ref_step(const DirShape& s, const DirParams& p, const Cell& cell, const double* x, const float* rm,
                     RefStep& c) {
  const int64_t H = s.H, R = s.R, G = s.G(), I = s.I;
  c.xa.assign(G * H, 0.0);
  c.ha.assign(G * H, 0.0);
  c.gate.assign(G * H, 0.0);
  c.m.assign(H, 0.0);
  c.h.assign(R, 0.0);
  const bool ln = is_layer_norm(s.cell);  // biases after the norms
  ref_affine(p.w_ih, ln ? nullptr : p.b_ih, x, I, 0, G * H, c.xa.data());
  std::vector<double> hd = c.hp;
  if (rm)
    for (int64_t k = 0; k < R; ++k) hd[k] *= rm[k];
  ref_affine(p.w_hh, ln ? nullptr : p.b_hh, hd.data(), R, 0, cell.h_gates * H, c.ha.data());  // the rows that see h_prev
  if (ln) {  // xa = γ_x LN(W_ih x) + b_ih, ha = γ_h LN(W_hh h) + b_hh
    c.isx = ref_layer_norm(c.xa, p.ln_ih, p.b_ih, c.nx);
    c.ish = ref_layer_norm(c.ha, p.ln_hh, p.b_hh, c.nh);
  }
  cell.ref_forward(s, p, c);
  if (projected(cell, H, R)) {
    ref_affine(p.w_hr, nullptr, c.m.data(), H, 0, R, c.h.data());  // h = W_hr m
  } else {
    c.h = c.m;
  }
}

void reference_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all,
                       const float* h0, const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n,
                       float* c_n, DirTape& tape) {
  if (is_batch_norm(s.cell)) return bn_forward(s, p, x, valid_all, h0, c0, y, ldy, accumulate, h_n, c_n, tape);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, I = s.I;
  const Cell& cell = cell_of(s.cell);
  auto rt = std::make_shared<RefTape>();
  rt->steps.resize(T * B);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(R, 0.0), c(H, 0.0), xv(I);
    if (h0) for (int64_t j = 0; j < R; ++j) h[j] = h0[b * R + j];
    if (c0 && cell.cell_state) for (int64_t j = 0; j < H; ++j) c[j] = c0[b * H + j];
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      float* yr = y + (t * B + b) * ldy;
      RefStep& sc = rt->steps[t * B + b];
      if (valid_all && !valid_all[t * B + b]) {
        if (!accumulate) std::memset(yr, 0, R * sizeof(float));
        continue;
      }
      for (int64_t i = 0; i < I; ++i) xv[i] = x[(t * B + b) * I + i];
      sc.valid = true;
      sc.hp = h;
      sc.cp = c;
      ref_step(s, p, cell, xv.data(), p.rmask ? p.rmask + b * R : nullptr, sc);
      h = sc.h;
      if (cell.cell_state) c = sc.c;
      if (p.zoneout > 0.0f)  // zoneout (R = H): keep the previous value with weight w (a mask bit, or p)
        for (int64_t j = 0; j < H; ++j) {
          const double w = zone_weight(p, t * B + b, H, j);
          h[j] = w * sc.hp[j] + (1 - w) * h[j];
          if (cell.cell_state) c[j] = w * sc.cp[j] + (1 - w) * c[j];
        }
      for (int64_t j = 0; j < R; ++j) yr[j] = static_cast<float>((accumulate ? yr[j] : 0.0) + h[j]);
    }
    if (h_n) for (int64_t j = 0; j < R; ++j) h_n[b * R + j] = static_cast<float>(h[j]);
    if (c_n && cell.cell_state) for (int64_t j = 0; j < H; ++j) c_n[b * H + j] = static_cast<float>(c[j]);
  }
  tape = DirTape{};
  tape.ref = rt;
}

namespace {
void flush(const std::vector<double>& a, float* out) {
  if (out) for (size_t i = 0; i < a.size(); ++i) out[i] += static_cast<float>(a[i]);
}

// Backward of one valid step of one row. In: dh [R] (dL/dh_t), d.dc [H] (dL/dc_t from later steps).
// Out: d.dxa, d.dha [G*H]; dh, d.dc replaced by dL/dh_{t-1}, dL/dc_{t-1}; weight grads accumulated.
void ref_step_backward(const DirShape& s, const DirParams& p, const Cell& cell, const RefStep& c, const float* rm,
                       std::vector<double>& dh, RefBack& d, RefGrads& gr) {
  const int64_t H = s.H, R = s.R, G = s.G();
  d.dxa.assign(G * H, 0.0);
  d.dha.assign(G * H, 0.0);
  d.dhp.assign(R, 0.0);
  d.dm.assign(H, 0.0);
  if (projected(cell, H, R)) {  // h = W_hr m: dm = W_hrᵀ dh, dW_hr += dh ⊗ m
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < H; ++j) {
        d.dm[j] += p.w_hr[r * H + j] * dh[r];
        gr.w_hr[r * H + j] += dh[r] * c.m[j];
      }
  } else {
    d.dm = dh;
  }
  cell.ref_backward(s, p, c, d, gr);
  if (is_layer_norm(s.cell)) {  // through the norms: the biases and gains here, the products below see d(W h)
    ref_layer_norm_backward(d.dha, c.nh, p.ln_hh, c.ish, gr.ln_hh, gr.b_hh);
    ref_layer_norm_backward(d.dxa, c.nx, p.ln_ih, c.isx, gr.ln_ih, gr.b_ih);
  }
  // h-side products: rows that multiply h_prev (Cho: only r, z rows; the cell did its n rows).
  const int64_t hrows = cell.h_gates * H;
  for (int64_t g = 0; g < hrows; ++g)
    for (int64_t k = 0; k < R; ++k) {
      const double m = rm ? rm[k] : 1.0;  // recurrent dropout: W_hh saw h_prev ⊙ rm
      d.dhp[k] += p.w_hh[g * R + k] * d.dha[g] * m;
      gr.w_hh[g * R + k] += d.dha[g] * c.hp[k] * m;
    }
  dh = d.dhp;
}
}  // namespace

void reference_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
                        int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
                        const DirGrads& g) {
  if (is_batch_norm(s.cell)) return bn_backward(s, p, x, tape, dy, ldy, dh_n, dc_n, dx, dh0, dc0, g);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, I = s.I, GH = s.G() * s.H;
  const Cell& cell = cell_of(s.cell);
  RefGrads gr(s);
  RefBack d;
  const std::vector<double>& dxa = d.dxa;
  std::vector<double>& dc = d.dc;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> dh(R, 0.0);
    dc.assign(H, 0.0);
    if (dh_n) for (int64_t j = 0; j < R; ++j) dh[j] = dh_n[b * R + j];
    if (dc_n && cell.cell_state) for (int64_t j = 0; j < H; ++j) dc[j] = dc_n[b * H + j];
    for (int64_t step = T - 1; step >= 0; --step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      const RefStep& c = tape.ref->steps[t * B + b];
      if (c.valid && dy) for (int64_t j = 0; j < R; ++j) dh[j] += dy[(t * B + b) * ldy + j];
      if (g.dh_norm) g.dh_norm[t * B + b] = static_cast<float>(norm2(dh));
      if (g.dc_norm && cell.cell_state) g.dc_norm[t * B + b] = static_cast<float>(norm2(dc));
      if (!c.valid) continue;  // padding: the state passed through unchanged, so does its gradient
      std::vector<double> zh(H, 0.0), zc(H, 0.0);  // zoneout: the parts that go to h_{t-1}, c_{t-1} directly
      if (p.zoneout > 0.0f)
        for (int64_t j = 0; j < H; ++j) {
          const double w = zone_weight(p, t * B + b, H, j);
          zh[j] = w * dh[j], dh[j] *= 1 - w;
          if (cell.cell_state) zc[j] = w * dc[j], dc[j] *= 1 - w;
        }
      ref_step_backward(s, p, cell, c, p.rmask ? p.rmask + b * R : nullptr, dh, d, gr);
      if (p.zoneout > 0.0f)
        for (int64_t j = 0; j < H; ++j) {
          dh[j] += zh[j];
          if (cell.cell_state) dc[j] += zc[j];
        }
      const float* xr = x + (t * B + b) * I;
      for (int64_t gi = 0; gi < GH; ++gi) {
        if (!is_layer_norm(s.cell)) gr.b_ih[gi] += dxa[gi], gr.b_hh[gi] += d.dha[gi];  // LN: ref_step_backward
        for (int64_t i = 0; i < I; ++i) {
          gr.w_ih[gi * I + i] += dxa[gi] * xr[i];
          if (dx) dx[(t * B + b) * I + i] += static_cast<float>(p.w_ih[gi * I + i] * dxa[gi]);
        }
      }
    }
    if (dh0) for (int64_t j = 0; j < R; ++j) dh0[b * R + j] = static_cast<float>(dh[j]);
    if (dc0 && cell.cell_state) for (int64_t j = 0; j < H; ++j) dc0[b * H + j] = static_cast<float>(dc[j]);
  }
  flush(gr.w_ih, g.w_ih);
  flush(gr.w_hh, g.w_hh);
  flush(gr.b_ih, g.b_ih);
  flush(gr.b_hh, g.b_hh);
  if (R != H) flush(gr.w_hr, g.w_hr);
  if (p.w_ch) flush(gr.w_ch, g.w_ch);
  if (p.lambda) flush(gr.lambda, g.lambda);
  if (is_layer_norm(s.cell)) {
    flush(gr.ln_ih, g.ln_ih);
    flush(gr.ln_hh, g.ln_hh);
    if (cell.cell_state) flush(gr.ln_c, g.ln_c), flush(gr.ln_cb, g.ln_cb);
  }
}

}  // namespace recurrent::rnn
