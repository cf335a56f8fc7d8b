// Initialisation schemes for recurrent stacks. Contract: include/recurrent/nn/rnn_init.h.
#include "recurrent/nn/rnn_init.h"

#include <cmath>
#include <vector>

#include "recurrent/core/error.h"

namespace recurrent {

// Modified Gram–Schmidt on a Gaussian matrix, in double: the orthonormal factor Q of its QR
// decomposition (sign fixed by the diagonal of R, so Q is Haar-distributed, Mezzadri 2007).
void fill_orthogonal(float* q, int64_t rows, int64_t cols, int64_t ld, Rng& rng) {
  const bool tall = rows >= cols;
  const int64_t n = tall ? rows : cols, k = tall ? cols : rows;  // k orthonormal vectors of length n
  std::vector<double> v(k * n);
  for (double& x : v) x = rng.normal();
  for (int64_t i = 0; i < k; ++i) {
    double* vi = &v[i * n];
    for (int64_t j = 0; j < i; ++j) {
      const double* vj = &v[j * n];
      double d = 0;
      for (int64_t e = 0; e < n; ++e) d += vi[e] * vj[e];
      for (int64_t e = 0; e < n; ++e) vi[e] -= d * vj[e];
    }
    double norm = 0;
    for (int64_t e = 0; e < n; ++e) norm += vi[e] * vi[e];
    norm = std::sqrt(norm);
    for (int64_t e = 0; e < n; ++e) vi[e] /= norm;  // R's diagonal is +norm: no sign flip needed
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) q[r * ld + c] = static_cast<float>(tall ? v[c * n + r] : v[r * n + c]);
}

namespace {

void init_block(float* w, int64_t rows, int64_t cols, int64_t ld, const RnnInit& in, Rng& rng, int64_t H) {
  switch (in.weights) {
    case RnnInit::Weights::pytorch: {
      const float k = 1.0f / std::sqrt(static_cast<float>(H));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) w[r * ld + c] = rng.uniform(-k, k);
      break;
    }
    case RnnInit::Weights::uniform:
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) w[r * ld + c] = rng.uniform(-in.uniform_a, in.uniform_a);
      break;
    case RnnInit::Weights::xavier: {  // fan_in = cols, fan_out = rows (one gate block)
      const float b = std::sqrt(6.0f / static_cast<float>(rows + cols));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) w[r * ld + c] = rng.uniform(-b, b);
      break;
    }
    case RnnInit::Weights::kaiming: {
      const float sd = std::sqrt(2.0f / static_cast<float>(cols));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) w[r * ld + c] = rng.normal(0.0f, sd);
      break;
    }
  }
}

void init_recurrent(float* w, int64_t H, int64_t R, const RnnInit& in, Rng& rng) {
  switch (in.recurrent) {
    case RnnInit::Recurrent::same:
      init_block(w, H, R, R, in, rng, H);
      break;
    case RnnInit::Recurrent::orthogonal:
      fill_orthogonal(w, H, R, R, rng);
      break;
    case RnnInit::Recurrent::identity:
      RC_CHECK(H == R, "init", "identity recurrent weights need a square block (no projection)");
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < R; ++c) w[r * R + c] = r == c ? in.identity_scale : 0.0f;
      break;
  }
}

// Tallec & Ollivier 2018: b_f = log u, u ~ U(1, T_max − 1), b_i = −b_f, in b_ih (gate order i, f, g, o);
// b_hh's i and f blocks 0, so the sums are these values.
void chrono_biases(RNN& rnn, size_t l, int d, int64_t H, float t_max, Rng& rng) {
  RC_CHECK(t_max > 2.0f, "init", "chrono initialisation needs T_max > 2, got ", t_max);
  Var b_ih = rnn.param("bias_ih", l, d);
  RC_CHECK(b_ih.defined(), "init", "chrono initialisation needs an RNN with biases");
  float* bi = b_ih.value().data();
  Var b_hh = rnn.param("bias_hh", l, d);
  for (int64_t j = 0; j < H; ++j) {
    const float f = std::log(rng.uniform(1.0f, t_max - 1.0f));
    bi[H + j] = f, bi[j] = -f;
    if (b_hh.defined()) b_hh.value().data()[H + j] = b_hh.value().data()[j] = 0.0f;
  }
}

}  // namespace

void init_rnn(RNN& rnn, const RnnInit& in, Rng& rng) {
  const RNNOptions& o = rnn.options();
  NoGradGuard ng;
  for (size_t l = 0; l < o.layers.size(); ++l) {
    const LayerSpec& s = o.layers[l];
    const int64_t G = gate_count(s.cell), H = s.hidden, R = s.out_size();
    for (int d = 0; d < o.directions(); ++d) {
      Var w_ih = rnn.param("weight_ih", l, d), w_hh = rnn.param("weight_hh", l, d);
      const int64_t I = w_ih.size(1);
      for (int64_t g = 0; g < G; ++g) {
        init_block(w_ih.value().data() + g * H * I, H, I, I, in, rng, H);
        if (w_hh.defined()) init_recurrent(w_hh.value().data() + g * H * R, H, R, in, rng);  // scan cells: none
      }
      if (Var w_hr = rnn.param("weight_hr", l, d); w_hr.defined()) init_block(w_hr.value().data(), R, H, H, in, rng, H);
      if (Var w_ch = rnn.param("weight_ch", l, d); w_ch.defined()) init_block(w_ch.value().data(), 3, H, H, in, rng, H);
      for (const char* kind : {"bias_ih", "bias_hh"}) {
        Var b = rnn.param(kind, l, d);
        if (!b.defined()) continue;
        if (in.zero_bias || in.recurrent == RnnInit::Recurrent::identity) b.value().zero_();
        else init_block(b.value().data(), 1, G * H, G * H, in, rng, H);
        if (in.forget_bias && is_lstm(s.cell)) {  // gate order i, f, g, o: f is block 1
          const float v = std::string(kind) == "bias_ih" ? *in.forget_bias : 0.0f;
          for (int64_t j = 0; j < H; ++j) b.value().data()[H + j] = v;
        }
      }
      if (in.chrono_tmax && is_lstm(s.cell)) chrono_biases(rnn, l, d, H, *in.chrono_tmax, rng);
    }
  }
}

}  // namespace recurrent
