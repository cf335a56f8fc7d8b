// LSTM step kernels (with optional peephole). Contract and equations: cell_kernels.h.
#include <cmath>
#include <cstring>

#include "kernels/simd/rnn_kernels.h"
#include "nn/cell_kernels.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::cells {

// Generic row kernel (one batch row); sigmoid_scalar / tanh_scalar are branch-free, so GCC
// vectorises the loop. The SIMD twin: LstmForwardRows (src/kernels/simd/cells/lstm-inl.h).
static void lstm_forward_row(int64_t H, float* ai, const float* peep, const float* cp, float* cb, float* mb) {
  float* af = ai + H;
  float* ag = ai + 2 * H;
  float* ao = ai + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    float pi = peep ? peep[j] * cp[j] : 0.0f;
    float pf = peep ? peep[H + j] * cp[j] : 0.0f;
    float i = sigmoid_scalar(ai[j] + pi);
    float f = sigmoid_scalar(af[j] + pf);
    float g = tanh_scalar(ag[j]);
    float cn = f * cp[j] + i * g;
    float po = peep ? peep[2 * H + j] * cn : 0.0f;
    float o = sigmoid_scalar(ao[j] + po);
    ai[j] = i;
    af[j] = f;
    ag[j] = g;
    ao[j] = o;
    cb[j] = cn;
    mb[j] = o * tanh_scalar(cn);
  }
}

// Shapes: a [B,4H] (i,f,g,o blocks of H), peep [3,H] or null, c_prev/c [B,H], m [B, ldm].
void lstm_forward(const simd::RnnKernels* k, int64_t B, int64_t H, float* a, const float* peep, const float* c_prev, float* c, float* m,
                  int64_t ldm, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    if (valid && !valid[b]) {  // padded step: state carried; m is not used by the caller
      std::memcpy(c + b * H, c_prev + b * H, H * sizeof(float));
      continue;
    }
    if (k)
      k->lstm_forward_rows(1, H, H, a + b * 4 * H, 4 * H, nullptr, peep, c_prev + b * H, c + b * H, m + b * ldm);
    else
      lstm_forward_row(H, a + b * 4 * H, peep, c_prev + b * H, c + b * H, m + b * ldm);
  }
}

// Backward of one step, per element (tc = tanh c):
//   do_ = dm ⊙ tc ⊙ o(1-o)                       (pre-activation grad of o)
//   dc  = dc_next + dm ⊙ o ⊙ (1 - tc²) + do_ ⊙ w_co
//   di_ = dc ⊙ g ⊙ i(1-i)    df_ = dc ⊙ c_prev ⊙ f(1-f)    dg_ = dc ⊙ i ⊙ (1-g²)
//   dc_prev = dc ⊙ f + di_ ⊙ w_ci + df_ ⊙ w_cf
//   dw_ci += di_ ⊙ c_prev   dw_cf += df_ ⊙ c_prev   dw_co += do_ ⊙ c
static void lstm_backward_row(int64_t H, const float* a, const float* peep, const float* cp, const float* cb,
                              const float* dm, float* dc, float* da, float* dpeep) {
  const float *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  float *dai = da, *daf = da + H, *dag = da + 2 * H, *dao = da + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    float i = ai[j], f = af[j], g = ag[j], o = ao[j];
    float tc = tanh_scalar(cb[j]);
    float d_o = dm[j] * tc * o * (1.0f - o);
    float dct = dc[j] + dm[j] * o * (1.0f - tc * tc) + (peep ? d_o * peep[2 * H + j] : 0.0f);
    float d_i = dct * g * i * (1.0f - i);
    float d_f = dct * cp[j] * f * (1.0f - f);
    float d_g = dct * i * (1.0f - g * g);
    dai[j] = d_i;
    daf[j] = d_f;
    dag[j] = d_g;
    dao[j] = d_o;
    float dcp = dct * f;
    if (peep) {
      dcp += d_i * peep[j] + d_f * peep[H + j];
      dpeep[j] += d_i * cp[j];
      dpeep[H + j] += d_f * cp[j];
      dpeep[2 * H + j] += d_o * cb[j];
    }
    dc[j] = dcp;
  }
}

void lstm_backward(const simd::RnnKernels* k, int64_t B, int64_t H, const float* a, const float* peep, const float* c_prev, const float* c,
                   const float* dm, float* dc, float* da, float* dpeep, const uint8_t* valid) {
  // With peephole the rows add into the shared dpeep: run rows in order (deterministic sum).
#pragma omp parallel for schedule(static) if (!peep && B * H >= 8192)
  for (int64_t b = 0; b < B; ++b) {
    if (valid && !valid[b]) {  // padded: no gate gradient, dc passes through unchanged
      std::memset(da + b * 4 * H, 0, 4 * H * sizeof(float));
      continue;
    }
    if (k)
      k->lstm_backward_row(H, H, a + b * 4 * H, peep, c_prev + b * H, c + b * H, dm + b * H, dc + b * H,
                           da + b * 4 * H, dpeep);
    else
      lstm_backward_row(H, a + b * 4 * H, peep, c_prev + b * H, c + b * H, dm + b * H, dc + b * H, da + b * 4 * H,
                        dpeep);
  }
}

}  // namespace recurrent::cells
