// The cells by CellType (the one place that lists them all), and what nn/cell.h declares for every cell.
#include "nn/cell.h"
#include "recurrent/core/error.h"

namespace recurrent::rnn {

// Defined in the cells' own files (cell_*.cpp), constant-initialised.
extern const Cell kRnnTanh, kRnnRelu, kLstm, kLstmPeephole, kGru, kGruCho, kGruSimple;
extern const Cell kMinGru, kMinLstm, kRgLru;  // scan cells (rnn_scan.cpp)
extern const Cell kLstmLn, kGruLn;            // layer-norm cells (cell_ln.cpp, rnn_fused_ln.cpp)
extern const Cell kLstmBn;                    // recurrent batch norm (cell_bn.cpp, rnn_bn.cpp)

namespace {
// In CellType's order (recurrent/nn/rnn_types.h), which is also cell_names()'s.
const Cell* const kCells[] = {&kRnnTanh, &kRnnRelu, &kLstm, &kLstmPeephole, &kGru, &kGruCho, &kGruSimple,
                              &kMinGru, &kMinLstm, &kRgLru, &kLstmLn, &kGruLn, &kLstmBn};
constexpr size_t kCount = sizeof(kCells) / sizeof(kCells[0]);
}  // namespace

const Cell& cell_of(CellType c) {
  const auto i = static_cast<size_t>(c);
  RC_CHECK(i < kCount && kCells[i]->type == c, "cell", "unknown cell type ", static_cast<int>(c));
  return *kCells[i];
}

FwdRows FwdRows::row(int64_t b) const {
  const auto at = [&](auto* p, int64_t ld) { return p ? p + b * ld : p; };
  FwdRows r = *this;
  r.M = 1;
  r.a = at(a, lda);
  r.gh = at(gh, lda);
  r.hp = at(hp, H);
  r.h = at(h, H);
  r.cp = at(cp, H);
  r.c = at(c, H);
  r.ex = at(ex, H);
  return r;
}

RefGrads::RefGrads(const DirShape& s)
    : w_ih(s.G() * s.H * s.I), w_hh(s.G() * s.H * s.R), b_ih(s.G() * s.H), b_hh(s.G() * s.H), w_hr(s.R * s.H),
      w_ch(3 * s.H), lambda(s.H), ln_ih(s.G() * s.H), ln_hh(s.G() * s.H), ln_c(s.H), ln_cb(s.H) {}

void ref_affine(const float* W, const float* b, const double* v, int64_t K, int64_t g0, int64_t g1, double* y) {
  for (int64_t g = g0; g < g1; ++g) {
    double acc = b ? b[g] : 0.0;
    for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(W[g * K + k]) * v[k];
    y[g] = acc;
  }
}

}  // namespace recurrent::rnn

namespace recurrent {

const char* cell_name(CellType c) { return rnn::cell_of(c).name; }
int gate_count(CellType c) { return rnn::cell_of(c).gates; }
bool has_cell_state(CellType c) { return rnn::cell_of(c).cell_state; }
bool is_scan_cell(CellType c) { return rnn::cell_of(c).scan; }

std::vector<std::string> cell_names() {
  std::vector<std::string> out;
  for (const rnn::Cell* c : rnn::kCells) out.push_back(c->name);
  return out;
}

CellType parse_cell(const std::string& name) {
  for (const rnn::Cell* c : rnn::kCells)
    if (name == c->name) return c->type;
  std::string valid;
  for (const rnn::Cell* c : rnn::kCells) valid += std::string(valid.empty() ? "" : ", ") + c->name;
  throw Error("--cell", "unknown cell '" + name + "'; expected one of: " + valid);
}

}  // namespace recurrent
