// Packing the recurrent weights into the fused loops' panels, and the panel product of one set.
// Contract: rnn_fused.h. The bf16 halves live in rnn_fused_bf16.cpp (x86 with AVX512_BF16 only).
#include <algorithm>
#include <cstring>

#include "nn/rnn_fused.h"

namespace recurrent::rnn::fused {

void pack_forward_panels(const simd::RnnKernels& k, const float* w, int64_t G, int64_t N, int64_t K, int64_t jb0,
                         int64_t jb1, float* out) {
  const int64_t P = k.panel;
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g)
      k.pack_rows_transposed(w + (g * N + jb * P) * K, K, std::min(P, N - jb * P), K, out + (jb * G + g) * K * P);
}

// Panel (jb, g): rows [0, I) = w_ih[g·N + jb·P + c, k], rows [I, I + R) = w_hh[g·N + jb·P + c, k].
void pack_folded_panels(const simd::RnnKernels& k, const float* w_ih, int64_t I, const float* w_hh, int64_t G,
                        int64_t N, int64_t R, int64_t jb0, int64_t jb1, float* out) {
  const int64_t P = k.panel;
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t row0 = g * N + jb * P, nrows = std::min(P, N - jb * P);
      float* panel = out + (jb * G + g) * (I + R) * P;
      k.pack_rows_transposed(w_ih + row0 * I, I, nrows, I, panel);
      k.pack_rows_transposed(w_hh + row0 * R, R, nrows, R, panel + I * P);
    }
}

void pack_backward_panels(int64_t P, const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, float* out) {
  for (int64_t jb = jb0; jb < jb1; ++jb) {
    const int64_t n = std::min(P, N - jb * P);
    for (int64_t k = 0; k < K; ++k) {
      float* o = out + (jb * K + k) * P;
      std::memcpy(o, w + k * N + jb * P, n * sizeof(float));
      if (n < P) std::memset(o + n, 0, (P - n) * sizeof(float));
    }
  }
}

}  // namespace recurrent::rnn::fused
