// Every cell's float rows (src/nn/cell.h): the SIMD rows of every target this CPU runs against the cell's
// scalar reference rows (k = null), forward and backward, every phase, with and without biases, the GRU
// forms with the input folded and not, on a partial block (n < H units, gate blocks H apart) of several
// rows. The drivers' results are checked against the double reference elsewhere (test_rnn_reference.cpp);
// this pins the two float forms of each cell to each other, kernel by kernel. A cell registered in
// cell_registry.cpp is covered without an edit here (the tests walk cell_names()).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd_targets.h"
#include "nn/cell.h"
#include "recurrent/core/rng.h"

namespace recurrent {
namespace {

using rnn::BwdRow;
using rnn::Cell;
using rnn::FwdRows;

std::vector<float> random_vec(int64_t n, Rng& r, float a) {
  std::vector<float> v(n);
  for (float& x : v) x = r.uniform(-a, a);
  return v;
}

// Highway's sigmoid / tanh against the scalar ones: a few float ulps on values of order 1.
constexpr float kTol = 2e-6f;

void expect_near_cell_rows(const std::vector<float>& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  size_t worst = 0;
  float err = 0.0f;
  for (size_t i = 0; i < want.size(); ++i) {
    const float e = std::fabs(want[i] - got[i]) / (1.0f + std::fabs(want[i]));
    if (!(e <= err)) worst = i, err = e;  // NaN counts as the worst
  }
  EXPECT_LE(err, kTol) << what << ": worst element " << worst << ", scalar " << want[worst] << ", simd " << got[worst];
}

// One side's buffers (the scalar and the SIMD side start from the same values).
struct Side {
  std::vector<float> a, gh, h, c, ex, da, dgh, dc, dhp, dpeep, ddecay;
};

class CellRows : public ::testing::TestWithParam<std::tuple<std::string, int64_t>> {};

TEST_P(CellRows, SimdMatchesScalar) {
  const Cell& cell = rnn::cell_of(parse_cell(std::get<0>(GetParam())));
  const simd::RnnKernels& kern = simd::rnn_kernels(std::get<1>(GetParam()));
  Rng rng(11);
  const int64_t M = 3, H = 37, n = 21, G = cell.gates, GH = G * H, lda = GH + 5;
  const std::vector<float> a0 = random_vec(M * lda, rng, 3.0f), gh0 = random_vec(M * lda, rng, 2.0f),
                           bias = random_vec(GH, rng, 1.0f), b_hh = random_vec(GH, rng, 1.0f),
                           peep = random_vec(3 * H, rng, 1.0f), hp = random_vec(M * H, rng, 1.0f),
                           cp = random_vec(M * H, rng, 2.0f), dh = random_vec(M * H, rng, 1.0f),
                           dc0 = random_vec(M * H, rng, 1.0f), dex = random_vec(M * H, rng, 1.0f);
  std::vector<float> decay = random_vec(H, rng, 1.0f);  // decay cells: log σ(Λ) ≤ 0
  for (float& v : decay) v = -std::fabs(v) - 1e-3f;
  for (bool with_bias : {false, true})
    for (bool folded : {false, true}) {
      if (folded && cell.h_apart < 0) continue;
      const std::string what = std::string(cell.name) + " bias=" + std::to_string(with_bias) +
                               " folded=" + std::to_string(folded);
      Side side[2];  // [0] scalar, [1] the target's SIMD rows
      for (int i = 0; i < 2; ++i) {
        const simd::RnnKernels* k = i ? &kern : nullptr;
        Side& s = side[i];
        s.a = a0, s.gh = gh0, s.h.assign(M * H, -7.0f), s.c.assign(M * H, -7.0f), s.ex.assign(M * H, -7.0f);
        const FwdRows r{.M = M,
                        .n = n,
                        .H = H,
                        .a = s.a.data(),
                        .lda = lda,
                        .gh = s.gh.data(),
                        .folded = folded,
                        .bias = with_bias ? bias.data() : nullptr,
                        .b_hh = cell.h_apart >= 0 && with_bias ? b_hh.data() : nullptr,
                        .peep = cell.peephole ? peep.data() : nullptr,
                        .hp = hp.data(),
                        .h = s.h.data(),
                        .cp = cp.data(),
                        .c = s.c.data(),
                        .ex = s.ex.data(),
                        .decay = cell.decay ? decay.data() : nullptr};
        cell.forward(k, r);
        if (cell.two_phase()) cell.forward2(k, r);
        // Backward from the scalar side's activations (both sides read the same a).
        s.da = side[0].a, s.dgh.assign(M * lda, -7.0f), s.dc = dc0, s.dhp.assign(M * H, 0.5f);
        s.dpeep.assign(3 * H, 0.25f);
        s.ddecay.assign(H, 0.125f);
        for (int64_t b = 0; b < M; ++b) {
          BwdRow br{.n = n,
                    .H = H,
                    .a = s.da.data() + b * lda,
                    .da = s.da.data() + b * lda,
                    .dgh = s.dgh.data() + b * lda,
                    .hp = hp.data() + b * H,
                    .cp = cp.data() + b * H,
                    .c = side[0].c.data() + b * H,
                    .ex = side[0].ex.data() + b * H,
                    .dh = dh.data() + b * H,
                    .dc = s.dc.data() + b * H,
                    .dhp = s.dhp.data() + b * H,
                    .peep = cell.peephole ? peep.data() : nullptr,
                    .dpeep = s.dpeep.data(),
                    .dex = dex.data() + b * H,
                    .decay = cell.decay ? decay.data() : nullptr,
                    .ddecay = cell.decay ? s.ddecay.data() : nullptr};
          cell.backward(k, br);
          if (cell.two_phase()) cell.backward2(k, br);
        }
      }
      for (auto [field, name] : {std::pair{&Side::a, "a"}, {&Side::h, "h"}, {&Side::c, "c"}, {&Side::ex, "ex"},
                                 {&Side::da, "da"}, {&Side::dgh, "dgh"}, {&Side::dc, "dc"}, {&Side::dhp, "dhp"},
                                 {&Side::dpeep, "dpeep"}, {&Side::ddecay, "ddecay"}})
        expect_near_cell_rows(side[0].*field, side[1].*field, what + ", " + name);
      EXPECT_NE(side[0].a, a0) << what << ": the forward rows changed nothing";
    }
}

INSTANTIATE_TEST_SUITE_P(CellsTargets, CellRows,
                         ::testing::Combine(::testing::ValuesIn(cell_names()), ::testing::ValuesIn(simd::cpu_targets())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + simd::target_name(std::get<1>(info.param));
                         });

// The registry and each cell's description agree with each other and with the public names.
TEST(CellRegistry, EveryCellIsConsistent) {
  for (const std::string& name : cell_names()) {
    const CellType type = parse_cell(name);
    const Cell& c = rnn::cell_of(type);
    EXPECT_EQ(c.type, type) << name;
    EXPECT_EQ(name, c.name);
    EXPECT_EQ(gate_count(type), c.gates) << name;
    EXPECT_EQ(has_cell_state(type), c.cell_state) << name;
    EXPECT_TRUE(c.gates >= 1 && c.gates <= 4) << name;
    for (int g = 0; g < c.gates; ++g) EXPECT_NE(c.gate_names[g], nullptr) << name << " gate " << g;
    EXPECT_TRUE(c.forward && c.backward && c.ref_forward && c.ref_backward) << name;
    EXPECT_EQ(c.two_phase(), c.forward2 != nullptr) << name;
    EXPECT_EQ(c.two_phase(), c.backward2 != nullptr) << name;
    if (c.scan) {  // no W_hh: nothing multiplies h_{t-1}, no h side, one phase (rnn_scan.cpp)
      EXPECT_TRUE(c.h_gates == 0 && c.h_apart < 0 && !c.two_phase() && !c.cell_state && !c.projection) << name;
    } else {
      EXPECT_TRUE(c.h_gates >= 1 && c.h_gates <= c.gates) << name;
      EXPECT_FALSE(c.decay) << name << ": only the scan driver hands the rows a decay";
    }
    EXPECT_LT(c.h_apart, c.gates) << name;
    EXPECT_FALSE(c.two_phase() && c.h_apart >= 0) << name << ": the fused loops support one or the other";
    EXPECT_EQ(c.two_phase(), c.extra == rnn::Extra::in_step) << name << ": phase 2 reads the extra";
    EXPECT_FALSE(c.projection && c.extra != rnn::Extra::none) << name << ": the projection's m uses the extra";
  }
}

}  // namespace
}  // namespace recurrent
