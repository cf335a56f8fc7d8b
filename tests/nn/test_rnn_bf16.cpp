// bf16 precision of the fused loops (RNNOptions::precision, docs/engine.md "bf16") against the double
// reference engine (which ignores the precision: it is the exact oracle), for every cell: outputs,
// h_n / c_n, dx, dh0 / dc0 and every weight gradient. T = 7..20, B ∈ {1, 5, 9}, H ∈ {20, 40, 70}
// (blocks of 32 with masked tails), projections, lengths, 1 and 2 threads, 2 layers bidirectional.
//
// Error measure: per tensor, max |bf16 − ref| / max |ref| (relative to the tensor's scale: bf16
// rounding of the operands is ~2^-9 relative per product term, not per element). Weights follow
// PyTorch's init, U(-1/√H, 1/√H); inputs and states U(-1, 1).
// Bound: see kBound below (≈ 3× the largest error measured over all these cases). The ReLU RNN's
// gradients get their own: f'(a) is a step, and the ~2^-9 perturbation of bf16 flips a few units'
// pre-activations across 0 (5 of 12,600 at T = 20, B = 9, H = 70), switching their gradient paths
// on or off; forward is as accurate as the other cells.
// Also: bf16 really differs from fp32 (no silent fp32), and fp32 is untouched by the bf16 code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "nn/rnn_direction.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/target.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// Measured (this file's cases, Zen 4, 2026-11-24; RECURRENT_TEST_PRINT=1 prints every tensor's error):
// largest error over every tensor of every case, all cells but the ReLU RNN's gradients: 5.6e-3
// (lstm_peephole, dweight_hr at H = 20, P = 7); lstm 5.2e-3, gru 3.9e-3, rnn_tanh 5.3e-3, gru_cho
// 3.5e-3, gru_simple 4.3e-3. ReLU RNN outputs 2.8e-3, its gradients 0.109.
constexpr double kBound = 1.7e-2;        // 3 × 5.6e-3
constexpr double kReluGradBound = 0.33;   // 3 × 0.109

struct EngineRun {
  std::vector<Tensor> values;  // flattened outputs (y, h_n, c_n), then each input's gradient
  std::vector<std::string> labels;
};

EngineRun run(RnnCase c, RnnEngine e, Precision prec) {
  c.opts.precision = prec;
  set_rnn_engine(e);
  RnnHarness h(std::move(c));
  std::vector<Tensor> in = h.inputs();
  std::vector<Var> vars;
  for (auto& t : in) vars.emplace_back(t, true);
  Var out;
  try {
    out = h.run(vars);
    Rng r(99);
    out.backward(random_tensor(out.shape(), r));
  } catch (...) {
    set_rnn_engine(RnnEngine::fast);
    throw;
  }
  set_rnn_engine(RnnEngine::fast);
  EngineRun res{{out.value()}, {"outputs (y, h_n, c_n)"}};
  res.labels.push_back("dx");
  for (const std::string& n : h.names) res.labels.push_back("d" + n);
  while (res.labels.size() < vars.size() + 1) res.labels.push_back("d(h0/c0)");
  for (auto& v : vars) res.values.push_back(v.grad());
  return res;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(t.data()[i])));
  return m;
}

// max_k max |a_k − b_k| / max |b_k| over the tensors; prints each tensor's error.
double worst_error(const EngineRun& a, const EngineRun& b, const std::string& label, bool print, bool relu) {
  EXPECT_EQ(a.values.size(), b.values.size());
  double worst = 0;
  for (size_t k = 0; k < a.values.size(); ++k) {
    const Tensor &x = a.values[k], &y = b.values[k];
    EXPECT_EQ(x.shape(), y.shape());
    double d = 0;
    for (int64_t i = 0; i < x.numel(); ++i)
      d = std::max(d, std::fabs(static_cast<double>(x.data()[i]) - y.data()[i]));
    const double scale = max_abs(y);
    const double rel = scale > 0 ? d / scale : d;
    if (print) std::printf("  %-40s %-22s rel %.3e (max|ref| %.3g)\n", label.c_str(), a.labels[k].c_str(), rel, scale);
    EXPECT_TRUE(std::isfinite(rel)) << label << " " << a.labels[k];
    EXPECT_LE(rel, relu && k > 0 ? kReluGradBound : kBound) << label << ": " << a.labels[k] << " max|bf16 - ref| / max|ref| = " << rel;
    if (!relu || k == 0) worst = std::max(worst, rel);
  }
  return worst;
}

bool print_errors() {
  const char* e = std::getenv("RECURRENT_TEST_PRINT");
  return e && *e == '1';
}

void compare(const RnnCase& c, double* worst) {
  const EngineRun bf = run(c, RnnEngine::fast, Precision::bf16), ref = run(c, RnnEngine::reference, Precision::fp32);
  const bool relu = c.opts.layers[0].cell == CellType::rnn_relu;
  *worst = std::max(*worst, worst_error(bf, ref, c.label, print_errors(), relu));
}

RnnCase make_case(RNNOptions o, int64_t T, int64_t B, std::vector<int64_t> lengths, bool h0, std::string label) {
  int64_t H = 0;
  for (const LayerSpec& l : o.layers) H = std::max(H, l.hidden);
  return {std::move(o), T, B, std::move(lengths), h0, std::move(label), 1.0f / std::sqrt(static_cast<float>(H))};
}

const CellType kAllCells[] = {CellType::lstm, CellType::gru,     CellType::rnn_tanh,  CellType::rnn_relu,
                              CellType::gru_simple, CellType::gru_cho, CellType::lstm_peephole};

class Bf16VsReference : public ::testing::TestWithParam<CellType> {};

TEST_P(Bf16VsReference, EveryShape) {
  if (!bf16_available()) GTEST_SKIP() << "no AVX512_BF16 on this CPU, or the default target is not avx512: precision bf16 is refused";
  const CellType cell = GetParam();
  const int saved = num_threads();
  double worst = 0;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const std::string tag = std::string(cell_name(cell)) + " threads=" + std::to_string(threads);
    compare(make_case(one_layer(cell, 5, 20), 7, 1, {}, false, tag + " T=7 B=1 H=20"), &worst);
    compare(make_case(one_layer(cell, 6, 40), 12, 5, {12, 3, 12, 7, 1}, true, tag + " T=12 B=5 H=40 len+h0"), &worst);
    compare(make_case(one_layer(cell, 8, 70), 20, 9, {}, true, tag + " T=20 B=9 H=70 h0"), &worst);
    rnn::force_forward_split(1);  // 2 threads: the one-phase cells' forward splits the rows 0-7 | 8-18
    compare(make_case(one_layer(cell, 5, 40), 8, 19, {8, 2, 8, 5, 1, 8, 8, 3, 8, 7, 8, 4, 8, 8, 6, 2, 8, 8, 1}, true,
                      tag + " T=8 B=19 H=40 len+h0 rows split"),
            &worst);
    rnn::force_forward_split(0);
    compare(make_case(RNNOptions::uniform(cell, 5, 33, 2, true), 9, 5, {9, 4, 9, 2, 6}, true,
                      tag + " T=9 B=5 H=33 2 layers bidir"),
            &worst);
    if (is_lstm(cell)) {
      compare(make_case(one_layer(cell, 5, 70, 40), 15, 9, {15, 3, 8, 15, 1, 15, 15, 9, 2}, true,
                        tag + " T=15 B=9 H=70 P=40 len+h0"),
              &worst);
      compare(make_case(one_layer(cell, 6, 40, 20), 10, 1, {}, true, tag + " T=10 B=1 H=40 P=20"), &worst);
      compare(make_case(one_layer(cell, 4, 20, 7), 8, 5, {}, false, tag + " T=8 B=5 H=20 P=7"), &worst);
    }
  }
  set_num_threads(saved);
  std::printf("[ bf16 ] %s: worst max|bf16 - ref| / max|ref| = %.3e (bound %.3e)%s\n", cell_name(cell), worst, kBound,
              cell == CellType::rnn_relu ? " (outputs; gradients see kReluGradBound)" : "");
}

INSTANTIATE_TEST_SUITE_P(Cells, Bf16VsReference, ::testing::ValuesIn(kAllCells),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

// Guard against a silent fp32 run: bf16 must differ from fp32 by far more than fp32 rounding, and
// fp32 must be no better than it was (fp32 against the reference stays at ~1e-6).
TEST(Bf16, DiffersFromFp32AndFp32IsUnchanged) {
  if (!bf16_available()) GTEST_SKIP() << "no AVX512_BF16 on this CPU, or the default target is not avx512";
  for (CellType cell : kAllCells) {
    const RnnCase c = make_case(one_layer(cell, 8, 70), 12, 9, {}, true, cell_name(cell));
    const EngineRun bf = run(c, RnnEngine::fast, Precision::bf16), f32 = run(c, RnnEngine::fast, Precision::fp32),
              ref = run(c, RnnEngine::reference, Precision::fp32);
    double d_bf = 0, d_f32 = 0;
    for (size_t k = 0; k < bf.values.size(); ++k) {
      const double scale = std::max(max_abs(ref.values[k]), 1e-30);
      double a = 0, b = 0;
      for (int64_t i = 0; i < ref.values[k].numel(); ++i) {
        a = std::max(a, std::fabs(static_cast<double>(bf.values[k].data()[i]) - ref.values[k].data()[i]));
        b = std::max(b, std::fabs(static_cast<double>(f32.values[k].data()[i]) - ref.values[k].data()[i]));
      }
      d_bf = std::max(d_bf, a / scale);
      d_f32 = std::max(d_f32, b / scale);
    }
    EXPECT_GT(d_bf, 5e-4) << cell_name(cell) << ": bf16 is as close to the reference as fp32 (" << d_bf
                          << "): did it run fp32?";
    EXPECT_LT(d_f32, 2e-5) << cell_name(cell) << ": fp32 error " << d_f32;
    EXPECT_GT(d_bf, 20 * d_f32) << cell_name(cell);
    if (print_errors()) std::printf("  %-14s bf16 %.3e  fp32 %.3e\n", cell_name(cell), d_bf, d_f32);
  }
}

// bf16 outside the fused AVX-512 loops is refused with an Error naming the precision, never run in fp32.
TEST(Bf16, RefusedOutsideTheFusedLoops) {
  if (!bf16_available()) {
    RNNOptions o = one_layer(CellType::lstm, 3, 8);
    o.precision = Precision::bf16;
    EXPECT_THROW(o.validate(), Error);
    return;
  }
  Rng rng(1);
  RNNOptions o = one_layer(CellType::lstm, 3, 8);
  o.precision = Precision::bf16;
  RNN rnn(o, rng);
  const int64_t saved = simd::default_target();
  for (int64_t t : simd::cpu_targets())  // the best target below AVX-512 (P = 32 is bf16's panel width)
    if (!bf16_target(t)) {
      simd::set_default_target(t);
      break;
    }
  Var x(random_tensor({4, 2, 3}, rng), false);
  try {
    rnn.forward(x);
    ADD_FAILURE() << "bf16 ran on target " << simd::target_name(simd::default_target());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(o.validate(), Error);  // and new models are refused up front
  simd::set_default_target(saved);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_EQ(std::string(precision_name(Precision::fp32)), "fp32");
  EXPECT_THROW(parse_precision("fp16"), Error);
}

}  // namespace
