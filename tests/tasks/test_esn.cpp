// Echo state networks (tasks/esn.h):
//  * the ridge readout against a direct reference (normal equations by Gaussian elimination here, and
//    the one-feature closed form), and a singular system refused with one line;
//  * the spectral radius of known matrices and of a drawn reservoir after scaling;
//  * run() and fit() against a step-by-step reference of the leaky update and the washout;
//  * the same seed draws the same network, another seed another one;
//  * save and load: the loaded model's readout and test figures equal the trained model's;
//  * a small ESN on Mackey-Glass (τ = 17) beats the naive forecast by far, one-step and free-run;
//  * bad settings are refused naming the option.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"

using namespace recurrent;
using namespace recurrent::tasks;
namespace fs = std::filesystem;

namespace {

// Mackey-Glass τ = 17 as Jaeger (2001, §6.1, eq. 23): Euler steps δ = 1/10, subsampled by 10; history
// y = 1.2 before t = 0; the first `skip` samples (transient) dropped.
std::vector<double> mackey_glass(int64_t n, int64_t skip = 300) {
  const int64_t sub = 10, lag = 170;
  std::vector<double> y(static_cast<size_t>((n + skip) * sub + lag + 1), 1.2);
  for (size_t i = lag; i + 1 < y.size(); ++i) {
    const double d = y[i - lag];
    y[i + 1] = y[i] + 0.1 * (0.2 * d / (1 + std::pow(d, 10)) - 0.1 * y[i]);
  }
  std::vector<double> out;
  for (int64_t k = skip; k < n + skip; ++k) out.push_back(y[static_cast<size_t>(lag + k * sub)]);
  return out;
}

std::string write_csv(const std::vector<double>& y, const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("recurrent-esn-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream f(p);
  f << "t,y\n";
  f.precision(17);
  for (size_t i = 0; i < y.size(); ++i) f << i << "," << y[i] << "\n";
  return p.string();
}

// Solves A w = b (n×n, row-major) by Gaussian elimination with partial pivoting: the test's reference.
std::vector<double> gauss(std::vector<double> A, std::vector<double> b, int n) {
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(A[r * n + c]) > std::fabs(A[p * n + c])) p = r;
    for (int k = 0; k < n; ++k) std::swap(A[c * n + k], A[p * n + k]);
    std::swap(b[c], b[p]);
    for (int r = c + 1; r < n; ++r) {
      const double f = A[r * n + c] / A[c * n + c];
      for (int k = c; k < n; ++k) A[r * n + k] -= f * A[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> w(n);
  for (int r = n - 1; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < n; ++k) s -= A[r * n + k] * w[k];
    w[r] = s / A[r * n + r];
  }
  return w;
}

EsnConfig small_config_esn(int64_t N = 8, int64_t K = 1) {
  EsnConfig c;
  c.reservoir = N, c.inputs = K, c.outputs = 1, c.density = 0.5, c.spectral_radius = 0.8, c.leak = 0.3;
  c.input_scale = 0.7, c.washout = 3, c.ridge = 1e-3;
  return c;
}

}  // namespace

TEST(EsnReadout, RidgeMatchesNormalEquationsSolvedDirectly) {
  const int T = 9, F = 4, O = 2;
  Rng rng(5);
  std::vector<double> X(T * F), Y(T * O);
  for (double& v : X) v = rng.uniform(-1.0f, 1.0f);
  for (double& v : Y) v = rng.uniform(-2.0f, 2.0f);
  const double beta = 0.25;
  const std::vector<double> W = ridge_solve(X, Y, T, F, O, beta, "test");  // [O, F]
  for (int o = 0; o < O; ++o) {
    std::vector<double> A(F * F, 0.0), b(F, 0.0);
    for (int i = 0; i < F; ++i) {
      for (int j = 0; j < F; ++j)
        for (int t = 0; t < T; ++t) A[i * F + j] += X[t * F + i] * X[t * F + j];
      A[i * F + i] += beta;
      for (int t = 0; t < T; ++t) b[i] += X[t * F + i] * Y[t * O + o];
    }
    const std::vector<double> ref = gauss(A, b, F);
    for (int f = 0; f < F; ++f) EXPECT_NEAR(W[o * F + f], ref[f], 1e-12) << "output " << o << " feature " << f;
  }
  // One feature: w = Σ x y / (Σ x² + β).
  const std::vector<double> x = {1, 2, 3}, y = {2, 3, 7};
  EXPECT_NEAR(ridge_solve(x, y, 3, 1, 1, 0.5, "test")[0], (2 + 6 + 21) / (14 + 0.5), 1e-14);
  EXPECT_NEAR(ridge_solve(x, y, 3, 1, 1, 0.0, "test")[0], 29.0 / 14.0, 1e-14);
}

TEST(EsnReadout, SingularSystemWithoutRidgeIsRefused) {
  const std::vector<double> X = {1, 2, 2, 4, 3, 6}, Y = {1, 2, 3};  // column 2 = 2 × column 1
  try {
    ridge_solve(X, Y, 3, 2, 1, 0.0, "readout");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("singular"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ridge_solve(X, Y, 3, 2, 1, 1e-3, "readout"));
}

TEST(EsnReservoir, SpectralRadiusOfKnownMatricesAndAfterScaling) {
  EXPECT_NEAR(spectral_radius({0, 2, -2, 0}, 2), 2.0, 1e-12);            // eigenvalues ±2i
  EXPECT_NEAR(spectral_radius({3, 7, 0, -5}, 2), 5.0, 1e-12);            // triangular: 3, −5
  EXPECT_NEAR(spectral_radius({0, 1, 0, 0, 0, 1, 0.125, 0, 0}, 3), 0.5, 1e-12);  // λ³ = 1/8
  for (double rho : {0.5, 0.9, 1.25}) {
    EsnConfig c = small_config_esn(60);
    c.density = 0.1, c.spectral_radius = rho;
    Rng rng(3);
    EchoStateNetwork m(c, rng);
    const Tensor w = m.parameter("w").value().contiguous();
    std::vector<double> a(w.data(), w.data() + w.numel());
    EXPECT_NEAR(spectral_radius(a, 60), rho, 1e-5 * rho);
    int64_t nz = 0;
    for (double v : a) nz += v != 0;
    EXPECT_NEAR(static_cast<double>(nz) / 3600.0, 0.1, 0.03);  // density
  }
}

TEST(EsnReservoir, RunAndFitFollowTheLeakyUpdateAndTheWashoutStepByStep) {
  const EsnConfig c = small_config_esn(8, 2);
  Rng rng(11);
  EchoStateNetwork m(c, rng);
  const int64_t T = 20, N = 8, K = 2;
  std::vector<double> u(T * K), y(T);
  for (double& v : u) v = rng.uniform(-1.0f, 1.0f);
  for (double& v : y) v = rng.uniform(-1.0f, 1.0f);
  const Tensor wi = m.parameter("w_in").value().contiguous(), w = m.parameter("w").value().contiguous();
  // Reference: x̃ = tanh(W_in [1; u] + W x), x ← (1 − α) x + α x̃, from x = 0, all dense.
  std::vector<double> x(N, 0.0), ref;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> nx(N);
    for (int64_t i = 0; i < N; ++i) {
      double s = wi.data()[i * (K + 1)];
      for (int64_t k = 0; k < K; ++k) s += wi.data()[i * (K + 1) + 1 + k] * u[t * K + k];
      for (int64_t j = 0; j < N; ++j) s += w.data()[i * N + j] * x[j];
      nx[i] = (1 - c.leak) * x[i] + c.leak * std::tanh(s);
    }
    x = nx;
    ref.insert(ref.end(), x.begin(), x.end());
  }
  const std::vector<double> states = m.run(u, T);
  ASSERT_EQ(states.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(states[i], ref[i], 1e-13) << "element " << i;
  // fit: only rows t ≥ washout, features [1; u(t); x(t)].
  m.fit(u, states, y, T);
  const int64_t F = 1 + K + N, rows = T - c.washout;
  std::vector<double> X, Y;
  for (int64_t t = c.washout; t < T; ++t) {
    X.push_back(1.0);
    for (int64_t k = 0; k < K; ++k) X.push_back(u[t * K + k]);
    for (int64_t i = 0; i < N; ++i) X.push_back(ref[t * N + i]);
    Y.push_back(y[t]);
  }
  const std::vector<double> W = ridge_solve(X, Y, rows, F, 1, c.ridge, "test");
  for (int64_t f = 0; f < F; ++f) EXPECT_NEAR(m.readout_weights()[f], W[f], 1e-9 * (1 + std::fabs(W[f])));
  double out = 0;
  std::vector<double> xt(ref.end() - N, ref.end());
  m.readout(u.data() + (T - 1) * K, xt, &out);
  double expect = W[0];
  for (int64_t f = 1; f < F; ++f) expect += W[f] * X[(rows - 1) * F + f];
  EXPECT_NEAR(out, expect, 1e-9);
}

TEST(EsnReservoir, SameSeedSameNetworkOtherSeedAnother) {
  const EsnConfig c = small_config_esn(30);
  Rng a(7), b(7), d(8);
  EchoStateNetwork m1(c, a), m2(c, b), m3(c, d);
  for (const char* name : {"w_in", "w"}) {
    const Tensor t1 = m1.parameter(name).value().contiguous(), t2 = m2.parameter(name).value().contiguous(),
                 t3 = m3.parameter(name).value().contiguous();
    EXPECT_TRUE(std::equal(t1.data(), t1.data() + t1.numel(), t2.data())) << name;
    EXPECT_FALSE(std::equal(t1.data(), t1.data() + t1.numel(), t3.data())) << name;
  }
}

TEST(EsnForecast, MackeyGlassBeatsNaiveAndSurvivesSaveAndLoad) {
  const std::string csv = write_csv(mackey_glass(1200), "mg.csv");
  const fs::path out = fs::temp_directory_path() / ("recurrent-esn-run-" + std::to_string(::getpid()));
  EsnTrainOptions o;
  o.data = csv, o.out = out.string(), o.quiet = true, o.seed = 3;
  o.cfg.column = "y", o.cfg.reservoir = 120, o.cfg.spectral_radius = 0.95, o.cfg.leak = 0.6, o.cfg.ridge = 1e-10;
  o.cfg.input_scale = 0.3;
  o.cfg.washout = 100, o.cfg.horizon = 20, o.cfg.density = 0.1, o.cfg.valid_frac = 0.1, o.cfg.test_frac = 0.2;
  const nlohmann::json r = nlohmann::json::parse(train_esn(o));
  const nlohmann::json& t = r.at("test");
  // One step: far below the naive forecast's error; free run over 20 steps: still far below naive.
  EXPECT_LT(t.at("one_step").at("mase").get<double>(), 0.05 * t.at("one_step").at("naive_mase").get<double>()) << r.dump();
  EXPECT_LT(t.at("free_run").at("mase").get<double>(), 0.1 * t.at("free_run").at("naive_mase").get<double>()) << r.dump();
  EXPECT_LT(t.at("nrmse_horizon").get<double>(), 0.05) << r.dump();
  // The saved model gives the same figures.
  auto m = load_esn(out.string());
  const EsnSeries d = load_esn_series(csv, m->config());
  const EsnEval e = evaluate_esn(*m, d, Part::test);
  EXPECT_DOUBLE_EQ(e.one_step.model.mae, t.at("one_step").at("mae").get<double>());
  EXPECT_DOUBLE_EQ(e.nrmse_horizon, t.at("nrmse_horizon").get<double>());
  // An untrained readout (zeros) does not beat naive: the figures above come from the fit.
  EsnConfig c = m->config();
  EchoStateNetwork zero(c);
  EXPECT_GT(evaluate_esn(zero, d, Part::test).one_step.mase, t.at("one_step").at("naive_mase").get<double>());
  fs::remove_all(out);
  fs::remove(csv);
}

TEST(EsnConfig, BadSettingsNameTheOption) {
  auto refused = [](EsnConfig c, const std::string& option) {
    try {
      c.validate();
      ADD_FAILURE() << option << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(option + ": ", 0), 0u) << e.what();
    }
  };
  EsnConfig c = small_config_esn();
  EXPECT_NO_THROW(c.validate());
  EsnConfig b = c;
  b.spectral_radius = 0, refused(b, "--spectral-radius");
  b = c, b.spectral_radius = -0.5, refused(b, "--spectral-radius");
  b = c, b.leak = 0, refused(b, "--leak");
  b = c, b.leak = 1.5, refused(b, "--leak");
  b = c, b.ridge = -1e-6, refused(b, "--ridge");
  b = c, b.reservoir = 0, refused(b, "--reservoir");
  b = c, b.density = 0, refused(b, "--density");
  b = c, b.horizon = 5, b.features = {"u"}, refused(b, "--horizon");
  b = c, b.target_input = false, refused(b, "--no-target-input");
  // washout ≥ the training part of the series
  const std::string csv = write_csv(mackey_glass(100), "short.csv");
  b = c, b.column = "y", b.washout = 100;
  try {
    load_esn_series(csv, b);
    ADD_FAILURE() << "washout accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--washout: ", 0), 0u) << e.what();
  }
  fs::remove(csv);
}

TEST(EsnClassify, SeparatesTwoTopicsAndSurvivesSaveAndLoad) {
  // Class "colour" sentences draw their words from one set, "animal" from another, with shared filler
  // words; 200 sentences, so the default split gives 160 / 20 / 20.
  const fs::path tsv = fs::temp_directory_path() / ("recurrent-esn-cls-" + std::to_string(::getpid()) + ".tsv");
  {
    std::ofstream f(tsv);
    const std::vector<std::string> a = {"red", "green", "blue", "yellow"}, b = {"cat", "dog", "bird", "horse"},
                                   filler = {"the", "a", "is", "very", "and"};
    Rng rng(9);
    for (int i = 0; i < 200; ++i) {
      const bool colour = rng.below(2) == 0;
      f << (colour ? "colour" : "animal") << "\t";
      const int n = 3 + static_cast<int>(rng.below(6));
      for (int k = 0; k < n; ++k) {
        const auto& pool = rng.below(3) == 0 ? filler : colour ? a : b;
        f << (k ? " " : "") << pool[rng.below(pool.size())];
      }
      f << "\n";
    }
  }
  const fs::path out = fs::temp_directory_path() / ("recurrent-esn-cls-run-" + std::to_string(::getpid()));
  EsnTrainOptions o;
  o.data = tsv.string(), o.out = out.string(), o.quiet = true, o.seed = 2;
  o.cfg.mode = "classify", o.cfg.reservoir = 40, o.cfg.ridge = 1e-3, o.cfg.min_count = 1, o.cfg.leak = 0.5;
  const nlohmann::json r = nlohmann::json::parse(train_esn(o));
  EXPECT_GE(r.at("test").at("accuracy").get<double>(), 0.9) << r.dump();
  auto m = load_esn(out.string());
  EXPECT_EQ(m->config().labels, (std::vector<std::string>{"animal", "colour"}));
  const std::vector<std::vector<double>> s = esn_class_scores(*m, {"red blue green", "dog cat horse"}, "test");
  EXPECT_GT(s[0][1], s[0][0]);
  EXPECT_GT(s[1][0], s[1][1]);
  // An untrained readout scores every class 0: accuracy is that of always predicting the first label.
  EchoStateNetwork zero(m->config());
  const data::LabeledSet all = data::read_labeled(tsv.string());
  const ClassifyEval ez = evaluate_esn_classifier(zero, all), et = evaluate_esn_classifier(*m, all);
  EXPECT_LT(ez.accuracy, 0.7);
  EXPECT_GT(et.accuracy, 0.9);
  fs::remove_all(out);
  fs::remove(tsv);
}

TEST(EsnForecast, DifferencesFollowATrendOutOfTheTrainingRange) {
  // A sine on a rising line: the test values lie above every training value.
  std::vector<double> y;
  for (int t = 0; t < 400; ++t) y.push_back(2 + 0.05 * t + std::sin(0.4 * t));
  const std::string csv = write_csv(y, "trend.csv");
  auto run_one = [&](bool difference) {
    const fs::path out = fs::temp_directory_path() / ("recurrent-esn-trend-" + std::to_string(::getpid()));
    EsnTrainOptions o;
    o.data = csv, o.out = out.string(), o.quiet = true, o.force = true, o.seed = 4;
    o.cfg.column = "y", o.cfg.reservoir = 40, o.cfg.washout = 20, o.cfg.ridge = 1e-6, o.cfg.horizon = 5;
    o.cfg.difference = difference;
    const nlohmann::json r = nlohmann::json::parse(train_esn(o));
    fs::remove_all(out);
    return r.at("test");
  };
  const nlohmann::json diff = run_one(true), plain = run_one(false);
  EXPECT_LT(diff.at("one_step").at("mase").get<double>(), 0.2 * diff.at("one_step").at("naive_mase").get<double>())
      << diff.dump();
  EXPECT_LT(diff.at("free_run").at("mase").get<double>(), 0.5 * plain.at("free_run").at("mase").get<double>())
      << diff.dump() << "\n" << plain.dump();
  fs::remove(csv);
}

TEST(EsnLab, AddingAndAgreementWithoutBptt) {
  EsnLabConfig c;
  c.T = 30, c.train = 400, c.test = 200, c.seed = 3;
  c.esn.reservoir = 80, c.esn.ridge = 1e-6;
  const EsnLabResult a = esn_lab(c);
  EXPECT_LT(a.test_metric, 0.01) << "adding T=30 test MSE";  // baseline 1/6
  EXPECT_TRUE(a.solved);
  c.task = "agreement", c.T = 10;
  const EsnLabResult g = esn_lab(c);
  EXPECT_GE(g.test_metric, 0.95) << "agreement D=10 test accuracy";
  // A reservoir too small to hold anything: far from solved.
  c.task = "adding", c.T = 30, c.esn.reservoir = 1, c.esn.density = 1;
  EXPECT_GT(esn_lab(c).test_metric, 0.05);
}
