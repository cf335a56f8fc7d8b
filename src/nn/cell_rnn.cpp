// Vanilla RNN step kernels (tanh / ReLU). Contract and equations: cell_kernels.h.
#include <cmath>
#include <cstring>

#include "nn/cell_kernels.h"
#include "recurrent/kernels/activations.h"

namespace recurrent::cells {

// Forward: h = f(a). Shapes: a [B,H], h_prev [B,H], h [B,H].
void rnn_forward(int64_t B, int64_t H, bool relu, float* a, const float* h_prev, float* h, const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 32768)
  for (int64_t b = 0; b < B; ++b) {
    float* ab = a + b * H;
    float* hb = h + b * H;
    if (valid && !valid[b]) {
      std::memcpy(hb, h_prev + b * H, H * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      float v = relu ? (ab[j] > 0.0f ? ab[j] : 0.0f) : tanh_scalar(ab[j]);
      ab[j] = v;
      hb[j] = v;
    }
  }
}

// Backward: da = dh ⊙ f'(a), with f' = 1 - h² (tanh) or [h > 0] (relu).
void rnn_backward(int64_t B, int64_t H, bool relu, const float* a, const float* dh, float* da, float* dhp,
                  const uint8_t* valid) {
#pragma omp parallel for schedule(static) if (B * H >= 32768)
  for (int64_t b = 0; b < B; ++b) {
    const float* ab = a + b * H;
    const float* dhb = dh + b * H;
    float* dab = da + b * H;
    float* dhpb = dhp + b * H;
    bool ok = !valid || valid[b];
    for (int64_t j = 0; j < H; ++j) {
      float d = relu ? (ab[j] > 0.0f ? dhb[j] : 0.0f) : dhb[j] * (1.0f - ab[j] * ab[j]);
      dab[j] = ok ? d : 0.0f;
      dhpb[j] = ok ? 0.0f : dhb[j];
    }
  }
}

}  // namespace recurrent::cells
