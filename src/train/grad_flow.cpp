// Gradient-flow measurements: spectral radius / norm by Gelfand's formula, one-step state Jacobians of
// a recurrent layer, and their products along a trajectory. Contract: include/recurrent/train/grad_flow.h.
#include "recurrent/train/grad_flow.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

using Mat = std::vector<double>;  // n×n, row-major

double frobenius(const Mat& m) {
  double s = 0.0;
  for (double v : m) s += v * v;
  return std::sqrt(s);
}

// C = A·B, all n×n.
Mat matmul_sq(const Mat& a, const Mat& b, int64_t n) {
  Mat c(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      if (aik == 0.0) continue;
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

// log ‖A^(2^s)‖_F / 2^s → log ρ(A). Each squaring of the normalised matrix N (‖N‖_F = 1):
//   A^(2k) = ‖A^k‖² N², so L_{2k} = 2 L_k + log ‖N²‖_F.
double log_spectral_radius(Mat m, int64_t n, int squarings) {
  double f = frobenius(m);
  if (f == 0.0) return -std::numeric_limits<double>::infinity();
  double log_norm = std::log(f), k = 1.0;
  for (int s = 0; s < squarings; ++s) {
    for (double& v : m) v /= f;
    m = matmul_sq(m, m, n);
    f = frobenius(m);
    if (f == 0.0) return -std::numeric_limits<double>::infinity();  // nilpotent
    log_norm = 2.0 * log_norm + std::log(f);
    k *= 2.0;
  }
  return log_norm / k;
}

// AᵀA (cols×cols) of a rows×cols matrix.
Mat gram(const double* a, int64_t rows, int64_t cols) {
  Mat g(cols * cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j) g[i * cols + j] += a[r * cols + i] * a[r * cols + j];
  return g;
}

double log_spectral_norm(const Mat& a, int64_t rows, int64_t cols, int squarings) {
  return 0.5 * log_spectral_radius(gram(a.data(), rows, cols), cols, squarings);
}

// log σ_max(A) by power iteration on AᵀA (O(rows·cols) per iteration: cheap enough to run every step
// of a trajectory, where the squaring method's O(n³·squarings) is not). Deterministic start vector with
// no symmetry, stopped when the estimate moves by < 1e-13 relative.
double log_spectral_norm_power(const Mat& a, int64_t rows, int64_t cols, int iters = 200) {
  std::vector<double> v(cols), u(rows);
  for (int64_t j = 0; j < cols; ++j) v[j] = 1.0 + 0.37 * std::sin(1.0 + 2.3 * static_cast<double>(j));
  double sigma2 = 0.0;
  for (int it = 0; it < iters; ++it) {
    double vn = 0.0;
    for (double e : v) vn += e * e;
    vn = std::sqrt(vn);
    if (vn == 0.0) return -std::numeric_limits<double>::infinity();
    for (double& e : v) e /= vn;
    double un = 0.0;
    for (int64_t i = 0; i < rows; ++i) {  // u = A v
      double acc = 0.0;
      for (int64_t j = 0; j < cols; ++j) acc += a[i * cols + j] * v[j];
      u[i] = acc, un += acc * acc;
    }
    std::fill(v.begin(), v.end(), 0.0);  // v = Aᵀ u
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) v[j] += a[i * cols + j] * u[i];
    const bool done = it > 0 && std::fabs(un - sigma2) <= 1e-13 * un;
    sigma2 = un;
    if (done) break;
  }
  return sigma2 > 0.0 ? 0.5 * std::log(sigma2) : -std::numeric_limits<double>::infinity();
}

Mat to_mat(const float* a, int64_t rows, int64_t cols, int64_t ld) {
  Mat m(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m[i * cols + j] = a[i * ld + j];
  return m;
}

}  // namespace

double spectral_radius(const float* a, int64_t n, int64_t ld, int squarings) {
  RC_CHECK(n > 0 && ld >= n && squarings >= 0, "spectral_radius", "expected a non-empty square matrix, got n = ", n,
           ", ld = ", ld);
  return std::exp(log_spectral_radius(to_mat(a, n, n, ld), n, squarings));
}

double spectral_norm(const float* a, int64_t rows, int64_t cols, int64_t ld, int squarings) {
  RC_CHECK(rows > 0 && cols > 0 && ld >= cols, "spectral_norm", "expected a non-empty matrix, got ", rows, "×", cols);
  return std::exp(log_spectral_norm(to_mat(a, rows, cols, ld), rows, cols, squarings));
}

// All S rows of J in one pass: the batch holds S copies of the state, and copy i's output is seeded
// with the i-th unit vector, so copy i's input gradient is row i of J.
Tensor state_jacobian(RNN& rnn, const std::vector<float>& x, const std::vector<float>& h, const std::vector<float>& c) {
  const RNNOptions& o = rnn.options();
  RC_CHECK(o.layers.size() == 1 && !o.bidirectional, "state_jacobian", "expected a one-layer, one-direction network");
  const LayerSpec& ls = o.layers[0];
  const bool lstm = is_lstm(ls.cell);
  const int64_t I = o.input_size, R = ls.out_size(), H = ls.hidden, S = R + (lstm ? H : 0);
  RC_CHECK(static_cast<int64_t>(x.size()) == I && static_cast<int64_t>(h.size()) == R &&
               static_cast<int64_t>(c.size()) == (lstm ? H : 0),
           "state_jacobian", "expected x [", I, "], h [", R, "], c [", lstm ? H : 0, "]");
  Tensor xs({1, S, I}), hs({1, S, R}), cs({1, S, lstm ? H : 1}), eh({1, S, R}), ec({1, S, lstm ? H : 1});
  for (int64_t i = 0; i < S; ++i) {
    for (int64_t j = 0; j < I; ++j) xs.data()[i * I + j] = x[j];
    for (int64_t j = 0; j < R; ++j) hs.data()[i * R + j] = h[j];
    for (int64_t j = 0; lstm && j < H; ++j) cs.data()[i * H + j] = c[j];
    if (i < R) eh.data()[i * R + i] = 1.0f;
    else ec.data()[i * H + (i - R)] = 1.0f;
  }
  // The model's own gradients must not change: freeze its parameters for this pass.
  std::vector<Var> params = rnn.parameters();
  std::vector<bool> req;
  for (Var& p : params) req.push_back(p.requires_grad()), p.set_requires_grad(false);
  Var hv(hs, true), cv(cs, true);
  RNNState init;
  init.h.push_back(hv);
  if (lstm) init.c.push_back(cv);
  std::shared_ptr<GradProbe> probe = rnn.grad_probe();
  rnn.set_grad_probe(nullptr);
  RNNOutput out = rnn.forward(Var(xs), {}, init);
  Var loss = sum(mul(out.final_state.h[0], Var(eh)));
  if (lstm) loss = loss + sum(mul(out.final_state.c[0], Var(ec)));
  loss.backward();
  rnn.set_grad_probe(probe);
  for (size_t k = 0; k < params.size(); ++k) params[k].set_requires_grad(req[k]);
  Tensor J({S, S});
  for (int64_t i = 0; i < S; ++i) {
    for (int64_t j = 0; j < R; ++j) J.data()[i * S + j] = hv.grad().data()[i * R + j];
    for (int64_t j = 0; lstm && j < H; ++j) J.data()[i * S + R + j] = cv.grad().data()[i * H + j];
  }
  return J;
}

JacobianProfile jacobian_profile(RNN& rnn, const Tensor& xs, std::vector<float> h, std::vector<float> c) {
  RC_CHECK(xs.dim() == 3 && xs.size(1) == 1, "jacobian_profile", "expected one sequence [T, 1, I], got ",
           shape_str(xs.shape()));
  const LayerSpec& ls = rnn.options().layers.at(0);
  const bool lstm = is_lstm(ls.cell);
  const int64_t T = xs.size(0), I = xs.size(2), R = ls.out_size(), H = ls.hidden, S = R + (lstm ? H : 0);
  if (h.empty()) h.assign(R, 0.0f);
  if (c.empty() && lstm) c.assign(H, 0.0f);
  Tensor x = xs.contiguous();
  std::shared_ptr<GradProbe> probe = rnn.grad_probe();  // these passes are not the model's own
  rnn.set_grad_probe(nullptr);
  JacobianProfile prof;
  Mat P;  // J_t ⋯ J_1 / e^{log_scale}
  double log_scale = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> xt(x.data() + t * I, x.data() + (t + 1) * I);
    Tensor J = state_jacobian(rnn, xt, h, c);
    Mat Jm = to_mat(J.data(), S, S, S);
    prof.step_norm.push_back(std::exp(log_spectral_norm_power(Jm, S, S)));
    P = P.empty() ? Jm : matmul_sq(Jm, P, S);
    const double f = frobenius(P);
    if (f == 0.0) {
      prof.log_product.push_back(-std::numeric_limits<double>::infinity());
      P.assign(S * S, 0.0);
    } else {
      for (double& v : P) v /= f;
      log_scale += std::log(f);
      prof.log_product.push_back(log_scale + log_spectral_norm_power(P, S, S));
    }
    NoGradGuard ng;  // advance the state by one step
    RNNState st;
    st.h.push_back(Var(Tensor::from(h, {1, 1, R})));
    if (lstm) st.c.push_back(Var(Tensor::from(c, {1, 1, H})));
    RNNOutput o = rnn.forward(Var(Tensor::from(xt, {1, 1, I})), {}, st);
    h = o.final_state.h[0].value().to_vector();
    if (lstm) c = o.final_state.c[0].value().to_vector();
  }
  rnn.set_grad_probe(probe);
  return prof;
}

}  // namespace recurrent
