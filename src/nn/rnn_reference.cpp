// The plain step-by-step reference of one direction: scalar loops in double, written independently
// of the fused kernels (no GEMM, no shared cell code), per-step weight-gradient accumulation.
// It is the oracle the fast path (rnn_direction.cpp) is tested against on every option, and a
// fallback (set_rnn_engine(RnnEngine::reference)). Equations: docs/cells.md and cell_kernels.h.
#include <cmath>
#include <cstring>
#include <vector>

#include "nn/rnn_direction.h"

namespace recurrent::rnn {

namespace {

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Everything about one (t, b) step, kept for backward.
struct StepCache {
  std::vector<double> xa, ha;    // [G*H] W_ih x + b_ih, W_hh h_prev + b_hh (Cho: n part uses r⊙h)
  std::vector<double> gate;      // [G*H] activations
  std::vector<double> c, m, rh;  // LSTM cell/pre-projection output; Cho r⊙h_prev
  std::vector<double> h;         // [R] new state
  std::vector<double> hp, cp;    // previous state
  bool valid = false;
};

// y[g] = b[g] + Σ_k W[g, k] v[k] for g in [g0, g1)
void affine(const float* W, const float* bias, const double* v, int64_t K, int64_t g0, int64_t g1, double* y) {
  for (int64_t g = g0; g < g1; ++g) {
    double acc = bias ? bias[g] : 0.0;
    for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(W[g * K + k]) * v[k];
    y[g] = acc;
  }
}

double norm2(const std::vector<double>& v) {
  double acc = 0.0;
  for (double e : v) acc += e * e;
  return std::sqrt(acc);
}

}  // namespace

struct RefTape {
  std::vector<StepCache> steps;  // [T*B], index t*B + b
};

// One step of one row: fills cache from x (I), h_prev (R), c_prev (H).
static void ref_step(const DirShape& s, const DirParams& p, const double* x, const double* hp, const double* cp,
                     StepCache& c) {
  const int64_t H = s.H, R = s.R, G = s.G(), I = s.I;
  c.xa.assign(G * H, 0.0);
  c.ha.assign(G * H, 0.0);
  c.gate.assign(G * H, 0.0);
  c.h.assign(R, 0.0);
  affine(p.w_ih, p.b_ih, x, I, 0, G * H, c.xa.data());
  switch (s.cell) {
    case CellType::rnn_tanh:
    case CellType::rnn_relu:
      affine(p.w_hh, p.b_hh, hp, R, 0, H, c.ha.data());
      for (int64_t j = 0; j < H; ++j) {
        double a = c.xa[j] + c.ha[j];
        c.gate[j] = c.h[j] = s.cell == CellType::rnn_relu ? (a > 0 ? a : 0.0) : std::tanh(a);
      }
      break;
    case CellType::lstm:
    case CellType::lstm_peephole: {
      affine(p.w_hh, p.b_hh, hp, R, 0, 4 * H, c.ha.data());
      c.c.assign(H, 0.0);
      c.m.assign(H, 0.0);
      for (int64_t j = 0; j < H; ++j) {
        auto pre = [&](int k) { return c.xa[k * H + j] + c.ha[k * H + j]; };
        double i = sig(pre(0) + (p.w_ch ? p.w_ch[j] * cp[j] : 0.0));
        double f = sig(pre(1) + (p.w_ch ? p.w_ch[H + j] * cp[j] : 0.0));
        double g = std::tanh(pre(2));
        double cn = f * cp[j] + i * g;
        double o = sig(pre(3) + (p.w_ch ? p.w_ch[2 * H + j] * cn : 0.0));
        c.gate[j] = i, c.gate[H + j] = f, c.gate[2 * H + j] = g, c.gate[3 * H + j] = o;
        c.c[j] = cn;
        c.m[j] = o * std::tanh(cn);
      }
      if (R != H)
        affine(p.w_hr, nullptr, c.m.data(), H, 0, R, c.h.data());
      else
        c.h = c.m;
      break;
    }
    case CellType::gru:
      affine(p.w_hh, p.b_hh, hp, R, 0, 3 * H, c.ha.data());
      for (int64_t j = 0; j < H; ++j) {
        double r = sig(c.xa[j] + c.ha[j]), z = sig(c.xa[H + j] + c.ha[H + j]);
        double n = std::tanh(c.xa[2 * H + j] + r * c.ha[2 * H + j]);
        c.gate[j] = r, c.gate[H + j] = z, c.gate[2 * H + j] = n;
        c.h[j] = (1 - z) * n + z * hp[j];
      }
      break;
    case CellType::gru_cho: {
      affine(p.w_hh, p.b_hh, hp, H, 0, 2 * H, c.ha.data());
      c.rh.assign(H, 0.0);
      for (int64_t j = 0; j < H; ++j) {
        c.gate[j] = sig(c.xa[j] + c.ha[j]);
        c.gate[H + j] = sig(c.xa[H + j] + c.ha[H + j]);
        c.rh[j] = c.gate[j] * hp[j];
      }
      affine(p.w_hh, p.b_hh, c.rh.data(), H, 2 * H, 3 * H, c.ha.data());  // rows 2H..3H see r ⊙ h
      for (int64_t j = 0; j < H; ++j) {
        double z = c.gate[H + j], n = std::tanh(c.xa[2 * H + j] + c.ha[2 * H + j]);
        c.gate[2 * H + j] = n;
        c.h[j] = (1 - z) * n + z * hp[j];
      }
      break;
    }
    case CellType::gru_simple:
      affine(p.w_hh, p.b_hh, hp, R, 0, 2 * H, c.ha.data());
      for (int64_t j = 0; j < H; ++j) {
        double u = sig(c.xa[j] + c.ha[j]), ct = std::tanh(c.xa[H + j] + c.ha[H + j]);
        c.gate[j] = u, c.gate[H + j] = ct;
        c.h[j] = u * ct + (1 - u) * hp[j];
      }
      break;
  }
}

void reference_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all,
                       const float* h0, const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n,
                       float* c_n, DirTape& tape) {
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, I = s.I;
  auto rt = std::make_shared<RefTape>();
  rt->steps.resize(T * B);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(R, 0.0), c(H, 0.0), xv(I);
    if (h0) for (int64_t j = 0; j < R; ++j) h[j] = h0[b * R + j];
    if (c0 && is_lstm(s.cell)) for (int64_t j = 0; j < H; ++j) c[j] = c0[b * H + j];
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      float* yr = y + (t * B + b) * ldy;
      StepCache& sc = rt->steps[t * B + b];
      if (valid_all && !valid_all[t * B + b]) {
        if (!accumulate) std::memset(yr, 0, R * sizeof(float));
        continue;
      }
      for (int64_t i = 0; i < I; ++i) xv[i] = x[(t * B + b) * I + i];
      sc.valid = true;
      sc.hp = h;
      sc.cp = c;
      ref_step(s, p, xv.data(), h.data(), c.data(), sc);
      h = sc.h;
      if (is_lstm(s.cell)) c = sc.c;
      for (int64_t j = 0; j < R; ++j) yr[j] = static_cast<float>((accumulate ? yr[j] : 0.0) + h[j]);
    }
    if (h_n) for (int64_t j = 0; j < R; ++j) h_n[b * R + j] = static_cast<float>(h[j]);
    if (c_n && is_lstm(s.cell)) for (int64_t j = 0; j < H; ++j) c_n[b * H + j] = static_cast<float>(c[j]);
  }
  tape = DirTape{};
  tape.ref = rt;
}

namespace {
// Gradient accumulators in double, flushed into the caller's float buffers at the end.
struct RefGrads {
  std::vector<double> w_ih, w_hh, b_ih, b_hh, w_hr, w_ch;
  explicit RefGrads(const DirShape& s)
      : w_ih(s.G() * s.H * s.I), w_hh(s.G() * s.H * s.R), b_ih(s.G() * s.H), b_hh(s.G() * s.H),
        w_hr(s.R * s.H), w_ch(3 * s.H) {}
  static void flush(const std::vector<double>& a, float* out) {
    if (out) for (size_t i = 0; i < a.size(); ++i) out[i] += static_cast<float>(a[i]);
  }
};

// Backward of one valid step of one row. In: dh [R] (dL/dh_t), dc [H] (dL/dc_t from later steps).
// Out: dxa, dha [G*H]; dh, dc replaced by dL/dh_{t-1}, dL/dc_{t-1}; weight grads accumulated.
void ref_step_backward(const DirShape& s, const DirParams& p, const StepCache& c, std::vector<double>& dh,
                       std::vector<double>& dc, std::vector<double>& dxa, std::vector<double>& dha, RefGrads& gr) {
  const int64_t H = s.H, R = s.R, G = s.G();
  dxa.assign(G * H, 0.0);
  dha.assign(G * H, 0.0);
  std::vector<double> dhp(R, 0.0), dcp(H, 0.0);
  const auto& a = c.gate;
  switch (s.cell) {
    case CellType::rnn_tanh:
    case CellType::rnn_relu:
      for (int64_t j = 0; j < H; ++j)
        dxa[j] = dha[j] = s.cell == CellType::rnn_relu ? (a[j] > 0 ? dh[j] : 0.0) : dh[j] * (1 - a[j] * a[j]);
      break;
    case CellType::lstm:
    case CellType::lstm_peephole: {
      std::vector<double> dm(H, 0.0);
      if (R != H) {
        for (int64_t r = 0; r < R; ++r)
          for (int64_t j = 0; j < H; ++j) {
            dm[j] += p.w_hr[r * H + j] * dh[r];
            gr.w_hr[r * H + j] += dh[r] * c.m[j];
          }
      } else {
        dm = dh;
      }
      for (int64_t j = 0; j < H; ++j) {
        double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], tc = std::tanh(c.c[j]);
        double d_o = dm[j] * tc * o * (1 - o);
        double dct = dc[j] + dm[j] * o * (1 - tc * tc) + (p.w_ch ? d_o * p.w_ch[2 * H + j] : 0.0);
        double d_i = dct * g * i * (1 - i), d_f = dct * c.cp[j] * f * (1 - f), d_g = dct * i * (1 - g * g);
        dxa[j] = d_i, dxa[H + j] = d_f, dxa[2 * H + j] = d_g, dxa[3 * H + j] = d_o;
        dcp[j] = dct * f;
        if (p.w_ch) {
          dcp[j] += d_i * p.w_ch[j] + d_f * p.w_ch[H + j];
          gr.w_ch[j] += d_i * c.cp[j];
          gr.w_ch[H + j] += d_f * c.cp[j];
          gr.w_ch[2 * H + j] += d_o * c.c[j];
        }
      }
      dha = dxa;
      break;
    }
    case CellType::gru:
      for (int64_t j = 0; j < H; ++j) {
        double r = a[j], z = a[H + j], n = a[2 * H + j];
        double dn = dh[j] * (1 - z) * (1 - n * n);
        double dz = dh[j] * (c.hp[j] - n) * z * (1 - z);
        double dr = dn * c.ha[2 * H + j] * r * (1 - r);
        dxa[j] = dha[j] = dr;
        dxa[H + j] = dha[H + j] = dz;
        dxa[2 * H + j] = dn;
        dha[2 * H + j] = dn * r;
        dhp[j] = dh[j] * z;
      }
      break;
    case CellType::gru_cho: {
      std::vector<double> drh(H, 0.0);
      for (int64_t j = 0; j < H; ++j) {
        double z = a[H + j], n = a[2 * H + j];
        dxa[2 * H + j] = dha[2 * H + j] = dh[j] * (1 - z) * (1 - n * n);
        dxa[H + j] = dha[H + j] = dh[j] * (c.hp[j] - n) * z * (1 - z);
        dhp[j] = dh[j] * z;
      }
      for (int64_t g = 2 * H; g < 3 * H; ++g)  // d(r⊙h) = W_hnᵀ dn; dW_hn += dn ⊗ (r⊙h)
        for (int64_t k = 0; k < H; ++k) {
          drh[k] += p.w_hh[g * H + k] * dha[g];
          gr.w_hh[g * H + k] += dha[g] * c.rh[k];
        }
      for (int64_t j = 0; j < H; ++j) {
        double r = a[j];
        dxa[j] = dha[j] = drh[j] * c.hp[j] * r * (1 - r);
        dhp[j] += drh[j] * r;
      }
      break;
    }
    case CellType::gru_simple:
      for (int64_t j = 0; j < H; ++j) {
        double u = a[j], ct = a[H + j];
        dxa[j] = dha[j] = dh[j] * (ct - c.hp[j]) * u * (1 - u);
        dxa[H + j] = dha[H + j] = dh[j] * u * (1 - ct * ct);
        dhp[j] = dh[j] * (1 - u);
      }
      break;
  }
  // h-side products: rows that multiply h_prev (Cho: only r, z rows; its n rows were done above).
  const int64_t hrows = s.cell == CellType::gru_cho ? 2 * H : G * H;
  for (int64_t g = 0; g < hrows; ++g)
    for (int64_t k = 0; k < R; ++k) {
      dhp[k] += p.w_hh[g * R + k] * dha[g];
      gr.w_hh[g * R + k] += dha[g] * c.hp[k];
    }
  dh = dhp;
  if (is_lstm(s.cell)) dc = dcp;
}
}  // namespace

void reference_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy,
                        int64_t ldy, const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0,
                        const DirGrads& g) {
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, I = s.I, GH = s.G() * s.H;
  RefGrads gr(s);
  std::vector<double> dxa, dha;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> dh(R, 0.0), dc(H, 0.0);
    if (dh_n) for (int64_t j = 0; j < R; ++j) dh[j] = dh_n[b * R + j];
    if (dc_n && is_lstm(s.cell)) for (int64_t j = 0; j < H; ++j) dc[j] = dc_n[b * H + j];
    for (int64_t step = T - 1; step >= 0; --step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      const StepCache& c = tape.ref->steps[t * B + b];
      if (c.valid && dy) for (int64_t j = 0; j < R; ++j) dh[j] += dy[(t * B + b) * ldy + j];
      if (g.dh_norm) g.dh_norm[t * B + b] = static_cast<float>(norm2(dh));
      if (g.dc_norm && is_lstm(s.cell)) g.dc_norm[t * B + b] = static_cast<float>(norm2(dc));
      if (!c.valid) continue;  // padding: the state passed through unchanged, so does its gradient
      ref_step_backward(s, p, c, dh, dc, dxa, dha, gr);
      const float* xr = x + (t * B + b) * I;
      for (int64_t gi = 0; gi < GH; ++gi) {
        gr.b_ih[gi] += dxa[gi];
        gr.b_hh[gi] += dha[gi];
        for (int64_t i = 0; i < I; ++i) {
          gr.w_ih[gi * I + i] += dxa[gi] * xr[i];
          if (dx) dx[(t * B + b) * I + i] += static_cast<float>(p.w_ih[gi * I + i] * dxa[gi]);
        }
      }
    }
    if (dh0) for (int64_t j = 0; j < R; ++j) dh0[b * R + j] = static_cast<float>(dh[j]);
    if (dc0 && is_lstm(s.cell)) for (int64_t j = 0; j < H; ++j) dc0[b * H + j] = static_cast<float>(dc[j]);
  }
  RefGrads::flush(gr.w_ih, g.w_ih);
  RefGrads::flush(gr.w_hh, g.w_hh);
  RefGrads::flush(gr.b_ih, g.b_ih);
  RefGrads::flush(gr.b_hh, g.b_hh);
  if (R != H) RefGrads::flush(gr.w_hr, g.w_hr);
  if (p.w_ch) RefGrads::flush(gr.w_ch, g.w_ch);
}

}  // namespace recurrent::rnn
