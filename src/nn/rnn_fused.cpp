// The fused AVX-512 time loops of one direction (LSTM with or without peephole, no projection;
// GRU linear-before-reset): the per-step recurrent product and the gate/state pass run together,
// on the hidden units each thread owns, inside ONE OpenMP parallel region per sequence.
//
// Dimension legend as in rnn_direction.h (T, B, H, G; R = H here). Work split (nt = threads):
//   hidden units are cut in blocks of 32 (nb = ⌈H/32⌉); thread k owns blocks [nb·k/nt, nb·(k+1)/nt).
//   forward, per step:  for each owned block, the G gate panels of h_{t-1} · W_hhᵀ (one 32-column
//                       panel each, written into that block's columns of a_t), then the gate/state
//                       pass of the block's units for all B rows, then y_t; ONE barrier per step
//                       (h_t must be complete before any thread starts step t+1's product).
//   backward, per step: gate/state backward of the owned units (→ dA_t columns, dc, dpeep), barrier
//                       (dA_t complete), then dh_{t-1}[:, owned units] += dA_t · W_hh[:, owned units]:
//                       the same thread owns the same units in both halves, so ONE barrier per step.
// Packed weights (built once per call, [panel][K][32], zero-padded past H):
//   forward panel (jb, g) = W_hh[g·H + 32·jb + c, k]ᵀ, K = H     backward panel jb = W_hh[k, 32·jb + c], K = G·H
// No allocation inside the time loop; the big GEMMs before and after stay in rnn_direction.cpp.
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/avx512/cells.h"
#include "nn/rnn_direction.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent::rnn {

namespace {
constexpr int64_t kP = avx512::kPanel;

int64_t blocks(int64_t H) { return (H + kP - 1) / kP; }

// [nb·G, H, 32]: panel (jb, g) row k, column c = W_hh[g·H + jb·32 + c, k]
Tensor pack_forward_panels(const float* w_hh, int64_t G, int64_t H) {
  const int64_t nb = blocks(H);
  Tensor w({nb * G, H, kP});
  for (int64_t jb = 0; jb < nb; ++jb)
    for (int64_t g = 0; g < G; ++g) {
      float* panel = w.data() + (jb * G + g) * H * kP;
      for (int64_t c = 0; c < kP && jb * kP + c < H; ++c) {
        const float* src = w_hh + (g * H + jb * kP + c) * H;
        for (int64_t k = 0; k < H; ++k) panel[k * kP + c] = src[k];
      }
    }
  return w;
}

// [nb, G·H, 32]: panel jb row k, column c = W_hh[k, jb·32 + c]
Tensor pack_backward_panels(const float* w_hh, int64_t GH, int64_t H) {
  const int64_t nb = blocks(H);
  Tensor w({nb, GH, kP});
  for (int64_t jb = 0; jb < nb; ++jb) {
    const int64_t n = std::min(kP, H - jb * kP);
    for (int64_t k = 0; k < GH; ++k)
      std::memcpy(w.data() + (jb * GH + k) * kP, w_hh + k * H + jb * kP, n * sizeof(float));
  }
  return w;
}

int team_size(int64_t H) { return static_cast<int>(std::min<int64_t>(num_threads(), blocks(H))); }

struct Span {  // the hidden-unit blocks one thread owns
  int64_t jb0, jb1;
};
Span my_blocks(int64_t nb) {
  const int k = omp_get_thread_num(), n = omp_get_num_threads();
  return {nb * k / n, nb * (k + 1) / n};
}
}  // namespace

bool fused_supported(const DirShape& s) {
  // RECURRENT_RNN_FUSED=0 turns the fused loops off (to compare them with the per-step path).
  static const bool off = [] {
    const char* e = std::getenv("RECURRENT_RNN_FUSED");
    return e && std::strcmp(e, "0") == 0;
  }();
  if (off || active_isa() != Isa::avx512) return false;
  if (is_lstm(s.cell)) return s.R == s.H;
  return s.cell == CellType::gru;
}

void fused_forward_loop(const DirShape& s, const DirParams& p, const uint8_t* valid_all, float* A, float* HS,
                        float* CS, float* EX, float* y, int64_t ldy, bool accumulate) {
  const int64_t T = s.T, B = s.B, H = s.H, G = s.G(), GH = G * H, nb = blocks(H);
  const int rev = s.reverse ? 1 : 0;
  const bool gru = s.cell == CellType::gru;
  const Tensor wf = pack_forward_panels(p.w_hh, G, H);
  // Biases added in the gate pass (A arrives without them): LSTM b_ih + b_hh, GRU b_ih (its b_hh
  // goes inside r ⊙ (W_hn h + b_hn), added by the kernel).
  Tensor bias_t = (p.b_ih || p.b_hh) ? Tensor({GH}) : Tensor();
  float* bias = bias_t.defined() ? bias_t.data() : nullptr;
  for (int64_t j = 0; bias && j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (p.b_hh && !gru ? p.b_hh[j] : 0.0f);
  Tensor gh_buf = gru ? Tensor({B, GH}) : Tensor();  // gru: W_hh h_{t-1} without bias, [B, GH]
  float* GHB = gru ? gh_buf.data() : nullptr;
#pragma omp parallel num_threads(team_size(H))
  {
    const Span my = my_blocks(nb);
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      float* at = A + t * B * GH;
      const float* hp = HS + (t + rev) * B * H;
      float* hn = HS + (t + 1 - rev) * B * H;
      const float* cp = CS ? CS + (t + rev) * B * H : nullptr;
      float* cn = CS ? CS + (t + 1 - rev) * B * H : nullptr;
      const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
      for (int64_t jb = my.jb0; jb < my.jb1; ++jb) {
        const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
        for (int64_t g = 0; g < G; ++g)  // gate g of units [j0, j0+nj): a_t (+)= h_{t-1} W_hhᵀ
          avx512::panel_gemm(B, H, hp, H, wf.data() + (jb * G + g) * H * kP, nj, (gru ? GHB : at) + g * H + j0,
                             GH, !gru);
        if (step + 1 < T) {  // next step's x-projection of this block: on its way from L3 while we compute
          const float* an = A + (s.reverse ? t - 1 : t + 1) * B * GH + j0;
          for (int64_t b = 0; b < B; ++b)
            for (int64_t g = 0; g < G; ++g)
              for (int64_t c = 0; c < nj; c += 16) _mm_prefetch(reinterpret_cast<const char*>(an + b * GH + g * H + c), _MM_HINT_T1);
        }
        for (int64_t b = 0; b < B; ++b) {
          const bool ok = !valid || valid[b];
          float* hb = hn + b * H + j0;
          if (!ok) {  // padded step: state carried
            std::memcpy(hb, hp + b * H + j0, nj * sizeof(float));
            if (cn) std::memcpy(cn + b * H + j0, cp + b * H + j0, nj * sizeof(float));
          } else if (gru) {
            avx512::gru_forward_row(nj, H, at + b * GH + j0, bias ? bias + j0 : nullptr, GHB + b * GH + j0, p.b_hh ? p.b_hh + j0 : nullptr,
                                    hp + b * H + j0, hb, EX + (t * B + b) * H + j0);
          } else {
            avx512::lstm_forward_row(nj, H, at + b * GH + j0, bias ? bias + j0 : nullptr, p.w_ch ? p.w_ch + j0 : nullptr, cp + b * H + j0,
                                     cn + b * H + j0, hb);
          }
          float* yr = y + (t * B + b) * ldy + j0;  // y_t: h_t on valid steps, 0 on padding
          if (accumulate) {
            if (ok)
              for (int64_t j = 0; j < nj; ++j) yr[j] += hb[j];
          } else if (ok) {
            std::memcpy(yr, hb, nj * sizeof(float));
          } else {
            std::memset(yr, 0, nj * sizeof(float));
          }
        }
      }
#pragma omp barrier
    }
  }
}

float* fused_backward_loop(const DirShape& s, const DirParams& p, const DirTape& tape, const float* dy, int64_t ldy,
                           float* dA, float* dGh, float* dh, float* dhp, float* dc, float* dpeep) {
  const int64_t T = s.T, B = s.B, H = s.H, G = s.G(), GH = G * H, nb = blocks(H);
  const int rev = s.reverse ? 1 : 0;
  const bool gru = s.cell == CellType::gru;
  const float* A = tape.a.data();
  const float* HS = tape.hs.data();
  const float* CS = gru ? nullptr : tape.cs.data();
  const float* EX = gru ? tape.extra.data() : nullptr;
  const uint8_t* valid_all = tape.valid.empty() ? nullptr : tape.valid.data();
  const Tensor wb = pack_backward_panels(p.w_hh, GH, H);
#pragma omp parallel num_threads(team_size(H))
  {
    const Span my = my_blocks(nb);
    float* dhv = dh;    // dL/dh_t        (swapped with dhpv after every step, same on every thread)
    float* dhpv = dhp;  // dL/dh_{t-1}
    for (int64_t step = T - 1; step >= 0; --step) {
      const int64_t t = s.reverse ? T - 1 - step : step;
      const float* at = A + t * B * GH;
      const float* hp = HS + (t + rev) * B * H;
      float* dat = dA + t * B * GH;
      float* dgt = gru ? dGh + t * B * GH : dat;  // rows that multiply W_hh
      const uint8_t* valid = valid_all ? valid_all + t * B : nullptr;
      for (int64_t jb = my.jb0; jb < my.jb1; ++jb) {
        const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
        for (int64_t b = 0; b < B; ++b) {
          float* dhb = dhv + b * H + j0;
          float* dpb = dhpv + b * H + j0;
          const bool ok = !valid || valid[b];
          if (dy && ok)  // dL/dh_t += dL/dy_t on valid steps (padding outputs are constants)
            for (int64_t j = 0; j < nj; ++j) dhb[j] += dy[(t * B + b) * ldy + j0 + j];
          if (!ok) {  // padded: no gate gradient; dh (and dc) pass through unchanged
            for (int64_t g = 0; g < G; ++g) {
              std::memset(dat + b * GH + g * H + j0, 0, nj * sizeof(float));
              if (gru) std::memset(dgt + b * GH + g * H + j0, 0, nj * sizeof(float));
            }
            std::memcpy(dpb, dhb, nj * sizeof(float));
          } else if (gru) {
            avx512::gru_backward_row(nj, H, at + b * GH + j0, EX + (t * B + b) * H + j0, hp + b * H + j0, dhb,
                                     dat + b * GH + j0, dgt + b * GH + j0, dpb);
          } else {
            const float* cp = CS + (t + rev) * B * H + b * H + j0;
            const float* cn = CS + (t + 1 - rev) * B * H + b * H + j0;
            avx512::lstm_backward_row(nj, H, at + b * GH + j0, p.w_ch ? p.w_ch + j0 : nullptr, cp, cn, dhb,
                                      dc + b * H + j0, dat + b * GH + j0, dpeep ? dpeep + j0 : nullptr);
            std::memset(dpb, 0, nj * sizeof(float));
          }
        }
      }
#pragma omp barrier
      for (int64_t jb = my.jb0; jb < my.jb1; ++jb) {  // dh_{t-1}[:, block] += dA_t · W_hh[:, block]
        const int64_t j0 = jb * kP, nj = std::min(kP, H - j0);
        avx512::panel_gemm(B, GH, dgt, GH, wb.data() + jb * GH * kP, nj, dhpv + j0, H, true);
      }
      std::swap(dhv, dhpv);
    }
  }
  return T % 2 ? dhp : dh;
}

}  // namespace recurrent::rnn
