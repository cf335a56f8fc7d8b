// bf16 precision with the per-step products on AMX tiles (EngineConfig::amx, docs/engine.md "bf16"), every
// cell: AMX on against the double reference within test_rnn_bf16.cpp's bound, and AMX on against AMX off
// (AVX512_BF16's vdpbf16ps) within the same bound — and not bitwise equal to it (the tiles sum in another
// order: equal results would mean AMX never ran). Shapes with B ≥ 16, since the AMX kernel takes rows
// in tiles of 16 (the rest go to vdpbf16ps): B = 16, 33 (a tile + a tail), 40 rows split 20 | 20 on 2
// threads, a 2-layer bidirectional stack at B = 17, LSTM projections; H = 64 (whole k chunks of 32), 70
// and 33 (k tails), 1 and 2 threads; outputs, h_n / c_n, dx, dh0 / dc0 and every weight gradient.
// Skipped only on a CPU without AMX (or where Linux refuses the tile state).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "nn/rnn_direction.h"
#include "nn/rnn_test_util.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"

using namespace recurrent;
using namespace recurrent::testing;

namespace {

// test_rnn_bf16.cpp's bounds (3× the largest bf16 error measured there; the ReLU RNN's gradients apart:
// bf16 flips a few pre-activations across ReLU's step).
constexpr double kAmxBound = 1.7e-2;
constexpr double kAmxReluGradBound = 0.33;

std::vector<Tensor> amx_run(RnnCase c, int amx) {
  c.opts.precision = Precision::bf16;
  c.opts.engine.amx = amx;
  return run_on_engine(c, RnnEngine::fast);
}

// max |a − b| / max |b|
double amx_rel_error(const Tensor& a, const Tensor& b) {
  double d = 0, m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]));
    m = std::max(m, std::fabs(static_cast<double>(b.data()[i])));
  }
  return m > 0 ? d / m : d;
}

RnnCase amx_case(RNNOptions o, int64_t T, int64_t B, std::vector<int64_t> lengths, bool h0, std::string label) {
  int64_t H = 0;
  for (const LayerSpec& l : o.layers) H = std::max(H, l.hidden);
  return {std::move(o), T, B, std::move(lengths), h0, std::move(label), 1.0f / std::sqrt(static_cast<float>(H))};
}

// One case: AMX on vs the reference and vs AMX off; *differs set when some tensor differs bitwise on/off;
// *worst: the largest error against the reference (the ReLU RNN's gradients apart).
void amx_compare(const RnnCase& c, bool* differs, double* worst) {
  const std::vector<Tensor> on = amx_run(c, 1), off = amx_run(c, -1), ref = run_on_engine(c, RnnEngine::reference);
  ASSERT_EQ(on.size(), ref.size());
  ASSERT_EQ(off.size(), ref.size());
  const bool relu = c.opts.layers[0].cell == CellType::rnn_relu;
  for (size_t k = 0; k < on.size(); ++k) {
    const double bound = relu && k > 0 ? kAmxReluGradBound : kAmxBound;
    const std::string what = c.label + ": " + (k == 0 ? std::string("outputs") : "gradient of input " + std::to_string(k - 1));
    const double e_ref = amx_rel_error(on[k], ref[k]), e_off = amx_rel_error(on[k], off[k]);
    EXPECT_TRUE(std::isfinite(e_ref)) << what;
    EXPECT_LE(e_ref, bound) << what << ": AMX vs reference, max|d| / max|ref|";
    EXPECT_LE(e_off, bound) << what << ": AMX vs vdpbf16ps, max|d| / max|off|";
    if (!(relu && k > 0)) *worst = std::max(*worst, e_ref);
    if (std::memcmp(on[k].data(), off[k].data(), on[k].numel() * sizeof(float)) != 0) *differs = true;
  }
}

const CellType kAmxCells[] = {CellType::lstm, CellType::gru,     CellType::rnn_tanh,  CellType::rnn_relu,
                              CellType::gru_simple, CellType::gru_cho, CellType::lstm_peephole};

class AmxVsReference : public ::testing::TestWithParam<CellType> {};

TEST_P(AmxVsReference, EveryShape) {
  if (!cpu_has_amx_bf16() || !bf16_available())
    GTEST_SKIP() << "no AMX (amx_tile + amx_bf16) on this CPU, Linux refused the tile state, or bf16 is not available";
  const CellType cell = GetParam();
  const int saved = num_threads();
  bool differs = false;
  double worst = 0;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const std::string tag = std::string(cell_name(cell)) + " threads=" + std::to_string(threads);
    amx_compare(amx_case(one_layer(cell, 8, 64), 10, 16, {}, false, tag + " T=10 B=16 H=64"), &differs, &worst);
    std::vector<int64_t> len(33, 8);
    for (int64_t b = 0; b < 33; b += 3) len[b] = 1 + b % 8;
    amx_compare(amx_case(one_layer(cell, 6, 70), 8, 33, len, true, tag + " T=8 B=33 H=70 len+h0"), &differs, &worst);
    rnn::force_forward_split(1);  // 2 threads: the one-phase cells' forward splits the rows 0-19 | 20-39
    amx_compare(amx_case(one_layer(cell, 5, 40), 6, 40, {}, true, tag + " T=6 B=40 H=40 rows split"), &differs, &worst);
    rnn::force_forward_split(0);
    amx_compare(amx_case(RNNOptions::uniform(cell, 5, 33, 2, true), 5, 17, {}, true, tag + " T=5 B=17 H=33 2 layers bidir"),
                &differs, &worst);
    if (is_lstm(cell))
      amx_compare(amx_case(one_layer(cell, 5, 70, 40), 7, 32, {}, true, tag + " T=7 B=32 H=70 P=40 h0"), &differs, &worst);
  }
  set_num_threads(saved);
  std::printf("[ amx ] %s: worst max|amx - ref| / max|ref| = %.3e (bound %.3e)\n", cell_name(cell), worst, kAmxBound);
  EXPECT_TRUE(differs) << cell_name(cell) << ": AMX on and off gave bitwise the same results: AMX never ran";
}

INSTANTIATE_TEST_SUITE_P(Cells, AmxVsReference, ::testing::ValuesIn(kAmxCells),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

// EngineConfig::amx: the model's choice over the process default; -1 wins, and without AMX nothing changes.
TEST(Amx, EngineChoice) {
  rnn::DirShape s{.cell = CellType::lstm, .T = 2, .B = 16, .I = 4, .H = 32, .R = 32, .reverse = false};
  s.precision = Precision::bf16;
  EXPECT_EQ(rnn::use_amx(s), cpu_has_amx_bf16());
  s.engine.amx = -1;
  EXPECT_FALSE(rnn::use_amx(s));
  s.engine.amx = 1;
  EXPECT_EQ(rnn::use_amx(s), cpu_has_amx_bf16());
  s.precision = Precision::fp32;
  EXPECT_FALSE(rnn::use_amx(s));
  EngineConfig model;
  model.amx = -1;
  EngineConfig dflt;
  dflt.amx = 1;
  EXPECT_EQ(model.over(dflt).amx, -1);
  EXPECT_EQ(EngineConfig{}.over(dflt).amx, 1);
}

}  // namespace
