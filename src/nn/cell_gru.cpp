// GRU step kernels: PyTorch linear-before-reset, Cho et al. 2014, and the simplified GRU.
// Contract and equations: cell_kernels.h.
#include <cmath>
#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell_kernels.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::cells {

// ---- linear-before-reset ---------------------------------------------------------------------
// Shapes: a, gh [B,3H]; b_hh [3H] or null; h_prev, h, nh [B,H].
// Generic row kernel (GCC vectorises it: branch-free activations); SIMD twin: GruForwardRows (src/kernels/simd/cells/gru-inl.h).
static void gru_forward_row(int64_t H, float* ar, const float* ghb, const float* b_hh, const float* hp, float* hb,
                            float* nhb) {
  float* az = ar + H;
  float* an = ar + 2 * H;
  for (int64_t j = 0; j < H; ++j) {
    float br = b_hh ? b_hh[j] : 0.0f, bz = b_hh ? b_hh[H + j] : 0.0f, bn = b_hh ? b_hh[2 * H + j] : 0.0f;
    float r = sigmoid_scalar(ar[j] + ghb[j] + br);
    float z = sigmoid_scalar(az[j] + ghb[H + j] + bz);
    float nhv = ghb[2 * H + j] + bn;
    float n = tanh_scalar(an[j] + r * nhv);
    ar[j] = r;
    az[j] = z;
    an[j] = n;
    nhb[j] = nhv;
    hb[j] = (1.0f - z) * n + z * hp[j];
  }
}

void gru_forward(const simd::RnnKernels* k, int64_t B, int64_t H, float* a, const float* gh, const float* b_hh, const float* h_prev, float* h,
                 float* nh, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    if (valid && !valid[b]) {
      std::memcpy(h + b * H, h_prev + b * H, H * sizeof(float));
      continue;
    }
    if (k)
      k->gru_forward_rows(1, H, H, a + b * 3 * H, gh + b * 3 * H, 3 * H, nullptr, b_hh, false, h_prev + b * H,
                          h + b * H, nh + b * H);
    else
      gru_forward_row(H, a + b * 3 * H, gh + b * 3 * H, b_hh, h_prev + b * H, h + b * H, nh + b * H);
  }
}

// dn_ = dh ⊙ (1-z) ⊙ (1-n²)     dz_ = dh ⊙ (h_prev - n) ⊙ z(1-z)     dr_ = dn_ ⊙ nh ⊙ r(1-r)
// x-part grads (r_, z_, dn_); h-part grads (r_, z_, dn_ ⊙ r); dhp = dh ⊙ z.
static void gru_backward_row(int64_t H, const float* ar, const float* nhb, const float* hp, const float* dhb,
                             float* dx, float* dg, float* dp) {
  const float *az = ar + H, *an = ar + 2 * H;
  for (int64_t j = 0; j < H; ++j) {
    float r = ar[j], z = az[j], n = an[j];
    float dn = dhb[j] * (1.0f - z) * (1.0f - n * n);
    float dz = dhb[j] * (hp[j] - n) * z * (1.0f - z);
    float dr = dn * nhb[j] * r * (1.0f - r);
    dx[j] = dr;
    dx[H + j] = dz;
    dx[2 * H + j] = dn;
    dg[j] = dr;
    dg[H + j] = dz;
    dg[2 * H + j] = dn * r;
    dp[j] = dhb[j] * z;
  }
}

void gru_backward(const simd::RnnKernels* k, int64_t B, int64_t H, const float* a, const float* nh, const float* h_prev, const float* dh,
                  float* dax, float* dgh, float* dhp, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    if (valid && !valid[b]) {
      std::memset(dax + b * 3 * H, 0, 3 * H * sizeof(float));
      std::memset(dgh + b * 3 * H, 0, 3 * H * sizeof(float));
      std::memcpy(dhp + b * H, dh + b * H, H * sizeof(float));
      continue;
    }
    if (k)
      k->gru_backward_row(H, H, a + b * 3 * H, nh + b * H, h_prev + b * H, dh + b * H, dax + b * 3 * H,
                          dgh + b * 3 * H, dhp + b * H);
    else
      gru_backward_row(H, a + b * 3 * H, nh + b * H, h_prev + b * H, dh + b * H, dax + b * 3 * H, dgh + b * 3 * H,
                       dhp + b * H);
  }
}

// ---- Cho et al. 2014 ---------------------------------------------------------------------------
// Shapes: a [B,3H]; h_prev, rh, h [B,H].
void gru_cho_forward_gates(int64_t B, int64_t H, float* a, const float* h_prev, float* rh) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    float* ar = a + b * 3 * H;
    float* az = ar + H;
    for (int64_t j = 0; j < H; ++j) {
      ar[j] = sigmoid_scalar(ar[j]);
      az[j] = sigmoid_scalar(az[j]);
      rh[b * H + j] = ar[j] * h_prev[b * H + j];
    }
  }
}

void gru_cho_forward_state(int64_t B, int64_t H, float* a, const float* h_prev, float* h, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    const float* az = a + b * 3 * H + H;
    float* an = a + b * 3 * H + 2 * H;
    const float* hp = h_prev + b * H;
    float* hb = h + b * H;
    if (valid && !valid[b]) {
      std::memcpy(hb, hp, H * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      float n = tanh_scalar(an[j]);
      an[j] = n;
      hb[j] = (1.0f - az[j]) * n + az[j] * hp[j];
    }
  }
}

// dn_ = dh ⊙ (1-z)(1-n²)   dz_ = dh ⊙ (h_prev - n) z(1-z)   dhp = dh ⊙ z
void gru_cho_backward_nz(int64_t B, int64_t H, const float* a, const float* h_prev, const float* dh, float* da,
                         float* dhp, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    const float* az = a + b * 3 * H + H;
    const float* an = az + H;
    const float* hp = h_prev + b * H;
    const float* dhb = dh + b * H;
    float* d = da + b * 3 * H;
    if (valid && !valid[b]) {
      std::memset(d, 0, 3 * H * sizeof(float));
      std::memcpy(dhp + b * H, dhb, H * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      float z = az[j], n = an[j];
      d[H + j] = dhb[j] * (hp[j] - n) * z * (1.0f - z);
      d[2 * H + j] = dhb[j] * (1.0f - z) * (1.0f - n * n);
      dhp[b * H + j] = dhb[j] * z;
    }
  }
}

// dr_ = drh ⊙ h_prev ⊙ r(1-r);  dhp += drh ⊙ r
void gru_cho_backward_r(int64_t B, int64_t H, const float* a, const float* h_prev, const float* drh, float* da,
                        float* dhp, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    if (valid && !valid[b]) continue;  // da row already zero, dhp already dh
    const float* ar = a + b * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      float r = ar[j], g = drh[b * H + j];
      da[b * 3 * H + j] = g * h_prev[b * H + j] * r * (1.0f - r);
      dhp[b * H + j] += g * r;
    }
  }
}

// ---- simplified GRU (u, c̃) ---------------------------------------------------------------------
void gru_simple_forward(int64_t B, int64_t H, float* a, const float* h_prev, float* h, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    float* au = a + b * 2 * H;
    float* ac = au + H;
    const float* hp = h_prev + b * H;
    float* hb = h + b * H;
    if (valid && !valid[b]) {
      std::memcpy(hb, hp, H * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      float u = sigmoid_scalar(au[j]);
      float c = tanh_scalar(ac[j]);
      au[j] = u;
      ac[j] = c;
      hb[j] = u * c + (1.0f - u) * hp[j];
    }
  }
}

// du_ = dh ⊙ (c̃ - h_prev) u(1-u)   dc_ = dh ⊙ u (1-c̃²)   dhp = dh ⊙ (1-u)
void gru_simple_backward(int64_t B, int64_t H, const float* a, const float* h_prev, const float* dh, float* da,
                         float* dhp, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    const float* au = a + b * 2 * H;
    const float* ac = au + H;
    const float* hp = h_prev + b * H;
    const float* dhb = dh + b * H;
    float* d = da + b * 2 * H;
    float* dp = dhp + b * H;
    if (valid && !valid[b]) {
      std::memset(d, 0, 2 * H * sizeof(float));
      std::memcpy(dp, dhb, H * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      float u = au[j], c = ac[j];
      d[j] = dhb[j] * (c - hp[j]) * u * (1.0f - u);
      d[H + j] = dhb[j] * u * (1.0f - c * c);
      dp[j] = dhb[j] * (1.0f - u);
    }
  }
}

}  // namespace recurrent::cells
