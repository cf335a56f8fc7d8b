// The echo state network itself: reservoir draw and scaling, the leaky update, the teacher-forced run,
// the readout and its fit (equations: recurrent/tasks/esn.h). Parameters (all fixed except the readout,
// which the ridge solve sets, none trained by gradient):
//   w_in [N, 1+K]   column 0 multiplies the constant 1 (bias)
//   w    [N, N]     dense in the file, zeros where the reservoir has no connection (CSR in memory)
//   w_out, w_out_lo [O, F]  the readout as float hi + lo parts (F = 1 + K + N)
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/tasks/load_model.h"

namespace recurrent::tasks {

void EchoStateNetwork::make_parameters() {
  cfg_.validate();
  const int64_t N = cfg_.reservoir, K = cfg_.inputs, O = cfg_.outputs, F = cfg_.features_out();
  w_in_ = register_parameter("w_in", Tensor({N, 1 + K}));
  w_ = register_parameter("w", Tensor({N, N}));
  out_hi_ = register_parameter("w_out", Tensor({O, F}));
  out_lo_ = register_parameter("w_out_lo", Tensor({O, F}));
}

EchoStateNetwork::EchoStateNetwork(EsnConfig cfg) : cfg_(std::move(cfg)) {
  make_parameters();
  sync();
}

EchoStateNetwork::EchoStateNetwork(EsnConfig cfg, Rng& rng) : cfg_(std::move(cfg)) {
  make_parameters();
  const int64_t N = cfg_.reservoir;
  const float s = static_cast<float>(cfg_.input_scale);
  rng.fill_uniform(w_in_.value(), -s, s);
  // W: each entry non-zero with probability d, U(−1, 1); then W ← W · ρ* / ρ(W).
  std::vector<double> w(static_cast<size_t>(N * N), 0.0);
  for (double& v : w)
    if (rng.uniform() < cfg_.density) v = rng.uniform(-1.0f, 1.0f);
  const double rho = spectral_radius(w, N);
  RC_CHECK(rho > 1e-12, "--density", "the drawn reservoir has spectral radius 0 (", N, " units at density ",
           cfg_.density, " make no cycle): raise --density or --reservoir, or change --seed");
  float* dst = w_.value().data();
  for (size_t i = 0; i < w.size(); ++i) dst[i] = static_cast<float>(w[i] * (cfg_.spectral_radius / rho));
  sync();
}

void EchoStateNetwork::sync() {
  const int64_t N = cfg_.reservoir, F = cfg_.features_out(), O = cfg_.outputs;
  const Tensor wi = w_in_.value().contiguous(), w = w_.value().contiguous();
  const Tensor hi = out_hi_.value().contiguous(), lo = out_lo_.value().contiguous();
  w_in_d_.assign(wi.data(), wi.data() + wi.numel());
  w_row_.assign(1, 0), w_col_.clear(), w_val_.clear();
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < N; ++j)
      if (const float v = w.data()[i * N + j]; v != 0.0f) w_col_.push_back(j), w_val_.push_back(v);
    w_row_.push_back(static_cast<int64_t>(w_col_.size()));
  }
  vocab_index_.clear();
  for (size_t i = 0; i < cfg_.vocab.size(); ++i) vocab_index_.emplace(cfg_.vocab[i], static_cast<int64_t>(i));
  w_out_.resize(static_cast<size_t>(O * F));
  for (size_t i = 0; i < w_out_.size(); ++i)
    w_out_[i] = static_cast<double>(hi.data()[i]) + static_cast<double>(lo.data()[i]);
}

// pre [N] holds W_in [1; u]; adds W x (CSR) and applies the leaky tanh update to x.
void EchoStateNetwork::update(const std::vector<double>& pre, std::vector<double>& x) const {
  const int64_t N = cfg_.reservoir;
  const double a = cfg_.leak;
  std::vector<double> s(pre);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t p = w_row_[i]; p < w_row_[i + 1]; ++p) s[i] += w_val_[p] * x[w_col_[p]];
  for (int64_t i = 0; i < N; ++i) x[i] = (1.0 - a) * x[i] + a * std::tanh(s[i]);
}

void EchoStateNetwork::step(const double* u, std::vector<double>& x) const {
  const int64_t N = cfg_.reservoir, K1 = cfg_.inputs + 1;
  std::vector<double> pre(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    const double* wi = w_in_d_.data() + i * K1;
    double s = wi[0];
    for (int64_t k = 1; k < K1; ++k) s += wi[k] * u[k - 1];
    pre[i] = s;
  }
  update(pre, x);
}

void EchoStateNetwork::step_token(int64_t v, std::vector<double>& x) const {
  const int64_t N = cfg_.reservoir, K1 = cfg_.inputs + 1;
  RC_CHECK(v >= 0 && v < cfg_.inputs, "esn", "token id ", v, " outside the vocabulary of ", cfg_.inputs);
  std::vector<double> pre(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) pre[i] = w_in_d_[i * K1] + w_in_d_[i * K1 + 1 + v];
  update(pre, x);
}

std::vector<double> EchoStateNetwork::run(const std::vector<double>& u, int64_t T) const {
  const int64_t N = cfg_.reservoir, K = cfg_.inputs;
  RC_CHECK(u.size() == static_cast<size_t>(T * K), "esn", "expected ", T, "x", K, " inputs, got ", u.size());
  std::vector<double> x(static_cast<size_t>(N), 0.0), states(static_cast<size_t>(T * N));
  for (int64_t t = 0; t < T; ++t) {
    step(u.data() + t * K, x);
    std::copy(x.begin(), x.end(), states.begin() + t * N);
  }
  return states;
}

void EchoStateNetwork::readout(const double* u, const std::vector<double>& x, double* out) const {
  const int64_t K = cfg_.inputs, N = cfg_.reservoir, F = cfg_.features_out();
  for (int64_t o = 0; o < cfg_.outputs; ++o) {
    const double* w = w_out_.data() + o * F;
    double s = w[0];
    for (int64_t k = 0; k < K; ++k) s += w[1 + k] * u[k];
    for (int64_t i = 0; i < N; ++i) s += w[1 + K + i] * x[i];
    out[o] = s;
  }
}

void EchoStateNetwork::readout_features(const double* f, double* out) const {
  const int64_t F = cfg_.features_out();
  for (int64_t o = 0; o < cfg_.outputs; ++o) {
    const double* w = w_out_.data() + o * F;
    double s = 0;
    for (int64_t k = 0; k < F; ++k) s += w[k] * f[k];
    out[o] = s;
  }
}

void EchoStateNetwork::set_readout(const std::vector<double>& w) {
  RC_CHECK(w.size() == static_cast<size_t>(cfg_.outputs * cfg_.features_out()), "esn", "readout: expected ",
           cfg_.outputs, "x", cfg_.features_out(), " weights, got ", w.size());
  w_out_ = w;
  float* hi = out_hi_.value().data();
  float* lo = out_lo_.value().data();
  for (size_t i = 0; i < w_out_.size(); ++i) {
    hi[i] = static_cast<float>(w_out_[i]);
    lo[i] = static_cast<float>(w_out_[i] - static_cast<double>(hi[i]));
    w_out_[i] = static_cast<double>(hi[i]) + static_cast<double>(lo[i]);  // what a loaded model will use
  }
}

double EchoStateNetwork::fit(const std::vector<double>& u, const std::vector<double>& states,
                             const std::vector<double>& targets, int64_t T) {
  const int64_t K = cfg_.inputs, N = cfg_.reservoir, O = cfg_.outputs, F = cfg_.features_out();
  RC_CHECK(states.size() == static_cast<size_t>(T * N) && targets.size() == static_cast<size_t>(T * O) &&
               u.size() == static_cast<size_t>(T * K),
           "esn", "fit: expected ", T, " steps of inputs, states and targets");
  std::vector<double> X, Y;  // rows t ≥ washout whose targets are all observed: [1; u(t); x(t)] → y(t)
  int64_t rows = 0;
  for (int64_t t = cfg_.washout; t < T; ++t) {
    bool ok = true;
    for (int64_t o = 0; o < O; ++o) ok = ok && std::isfinite(targets[t * O + o]);
    if (!ok) continue;
    X.push_back(1.0);
    X.insert(X.end(), u.begin() + t * K, u.begin() + (t + 1) * K);
    X.insert(X.end(), states.begin() + t * N, states.begin() + (t + 1) * N);
    Y.insert(Y.end(), targets.begin() + t * O, targets.begin() + (t + 1) * O);
    ++rows;
  }
  RC_CHECK(rows >= 1, "--washout", "no training step left after the washout of ", cfg_.washout, " steps (", T,
           " steps in the training part)");
  set_readout(ridge_solve(X, Y, rows, F, O, cfg_.ridge, "esn readout"));
  double se = 0;
  std::vector<double> x(static_cast<size_t>(N)), y(static_cast<size_t>(O));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(X.begin() + r * F + 1 + K, X.begin() + (r + 1) * F, x.begin());
    readout(X.data() + r * F + 1, x, y.data());
    for (int64_t o = 0; o < O; ++o) se += (y[o] - Y[r * O + o]) * (y[o] - Y[r * O + o]);
  }
  return se / static_cast<double>(rows * O);
}

std::unique_ptr<EchoStateNetwork> load_esn(const std::string& model_path) {
  auto m = load_trained(model_path, [](const std::string& json, const std::string& where, Rng&) {
    return std::make_unique<EchoStateNetwork>(EsnConfig::from_json(json, where));
  });
  m->sync();
  return m;
}

}  // namespace recurrent::tasks
