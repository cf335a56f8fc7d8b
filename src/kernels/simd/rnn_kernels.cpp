// The recurrent engine's kernels compiled for every SIMD target of the build (Highway's
// foreach_target: this file is compiled once per target, each time inside that target's namespace),
// gathered into one RnnKernels table per target. Contract: rnn_kernels.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/rnn_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/simd/cells/gru-inl.h"
#include "kernels/simd/cells/gru_cho-inl.h"
#include "kernels/simd/cells/gru_simple-inl.h"
#include "kernels/simd/cells/lstm-inl.h"
#include "kernels/simd/cells/lstm_bn-inl.h"
#include "kernels/simd/cells/lstm_ln-inl.h"
#include "kernels/simd/cells/mingru-inl.h"
#include "kernels/simd/cells/minlstm-inl.h"
#include "kernels/simd/cells/rglru-inl.h"
#include "kernels/simd/cells/regularise-inl.h"
#include "kernels/simd/cells/rnn-inl.h"
#include "kernels/simd/math-inl.h"
#include "kernels/simd/panel-inl.h"
#include "kernels/simd/reduce-inl.h"
#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd/transformer-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// y = f(x) over an array: two independent vectors per step hide the division latency, masked tail.
template <class F>
HWY_INLINE void ApplyArray(const float* x, float* y, int64_t n, const F& f) {
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const V a = hn::LoadU(D(), x + i), b = hn::LoadU(D(), x + i + kLanes);
    hn::StoreU(f(a), D(), y + i);
    hn::StoreU(f(b), D(), y + i + kLanes);
  }
  ForVectors(n - i, [&](int64_t j, auto k) { St(k, y + i + j, f(Ld(k, x + i + j))); });
}
void SigmoidArray(const float* x, float* y, int64_t n) {
  ApplyArray(x, y, n, [](V v) { return Sigmoid(D(), v); });
}
void TanhArray(const float* x, float* y, int64_t n) {
  ApplyArray(x, y, n, [](V v) { return Tanh(D(), v); });
}
template <class F>
HWY_INLINE void ApplyArrayWithGrad(const float* x, float* y, float* dy, int64_t n, const F& f) {
  ForVectors(n, [&](int64_t j, auto k) {
    V g;
    St(k, y + j, f(Ld(k, x + j), &g));
    St(k, dy + j, g);
  });
}
void SigmoidGradArray(const float* x, float* y, float* dy, int64_t n) {
  ApplyArrayWithGrad(x, y, dy, n, [](V v, V* g) { return SigmoidWithGrad(D(), v, g); });
}
void TanhGradArray(const float* x, float* y, float* dy, int64_t n) {
  ApplyArrayWithGrad(x, y, dy, n, [](V v, V* g) { return TanhWithGrad(D(), v, g); });
}

// Out-of-line entry points (the table holds their addresses).
void PackRowsTransposedFn(const float* src, int64_t ld, int64_t nrows, int64_t K, float* dst) {
  PackRowsTransposed(src, ld, nrows, K, dst);
}
void PanelGemmFn(int64_t M, int64_t K, const float* A, int64_t lda, const float* P, int64_t ncols, float* C,
                 int64_t ldc, bool accumulate) {
  PanelGemm(M, K, A, lda, P, ncols, C, ldc, accumulate);
}
void PanelGemm2Fn(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2, int64_t lda2,
                  const float* P, int64_t ncols, float* C, int64_t ldc, bool accumulate, const float* next) {
  PanelGemm2(M, K1, A1, lda1, K2, A2, lda2, P, ncols, C, ldc, accumulate, next);
}
void PanelGemmPairFn(int64_t M, int64_t K1, const float* A1, int64_t lda1, int64_t K2, const float* A2, int64_t lda2,
                     const float* P, int64_t ncols, float* C1, float* C2, int64_t ldc, bool accumulate,
                     const float* next, const float* next2) {
  PanelGemmPair(M, K1, A1, lda1, K2, A2, lda2, P, ncols, C1, C2, ldc, accumulate, next, next2);
}

const RnnKernels* GetRnnKernels() {
  static const RnnKernels k{
      .target = HWY_TARGET,
      .panel = kPanel,
      .mr = kMR,
      .pack_rows_transposed = PackRowsTransposedFn,
      .panel_gemm = PanelGemmFn,
      .panel_gemm2 = PanelGemm2Fn,
      .panel_gemm_pair = PanelGemmPairFn,
      .lstm_forward_rows = LstmForwardRows,
      .lstm_backward_row = LstmBackwardRow,
      .gru_forward_rows = GruForwardRows,
      .gru_backward_row = GruBackwardRow,
      .gru_cho_gates_row = GruChoGatesRow,
      .gru_cho_state_row = GruChoStateRow,
      .gru_cho_backward_nz_row = GruChoBackwardNzRow,
      .gru_cho_backward_r_row = GruChoBackwardRRow,
      .gru_simple_forward_row = GruSimpleForwardRow,
      .gru_simple_backward_row = GruSimpleBackwardRow,
      .mingru_forward_row = MinGruForwardRow,
      .mingru_backward_row = MinGruBackwardRow,
      .minlstm_forward_row = MinLstmForwardRow,
      .minlstm_backward_row = MinLstmBackwardRow,
      .rglru_forward_row = RgLruForwardRow,
      .rglru_backward_row = RgLruBackwardRow,
      .lstm_ln_forward_row = LstmLnForwardRow,
      .lstm_ln_backward_row = LstmLnBackwardRow,
      .bn_columns = BnColumns,
      .bn_columns_backward = BnColumnsBackward,
      .lstm_bn_h_rows = LstmBnHRows,
      .lstm_bn_out_backward_row = LstmBnOutBackwardRow,
      .lstm_bn_gates_backward_row = LstmBnGatesBackwardRow,
      .zoneout_rows = ZoneoutRows,
      .zoneout_split_row = ZoneoutSplitRow,
      .zoneout_merge_row = ZoneoutMergeRow,
      .rnn_forward_row = RnnForwardRow,
      .rnn_backward_row = RnnBackwardRow,
      .sigmoid_array = SigmoidArray,
      .tanh_array = TanhArray,
      .sigmoid_grad_array = SigmoidGradArray,
      .tanh_grad_array = TanhGradArray,
      .max_array = MaxArray,
      .exp_shift_sum = ExpShiftSum,
      .sum_squares = SumSquares,
      .gelu_array = GeluArray,
      .gelu_grad_add = GeluGradAdd,
  };
  return &k;
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "recurrent/core/error.h"
#include "recurrent/kernels/target.h"

namespace recurrent::simd {

HWY_EXPORT(GetRnnKernels);

// Highway's dispatch table holds one entry per target bit; this picks the entry of one target
// (instead of the CPU's best, as HWY_DYNAMIC_DISPATCH would) so that tests and benchmarks can run
// every target the CPU has.
const RnnKernels& rnn_kernels(int64_t target) {
  target = resolve_target(target);
  RC_CHECK((target & HWY_TARGETS) != 0, "target", "'", target_name(target), "' is not compiled into this build");
  // (the emulated / scalar targets sit in the table's last entry)
  const int64_t bits = (target & (HWY_EMU128 | HWY_SCALAR)) ? HWY_CHOSEN_TARGET_MASK_SCALAR
                                                            : HWY_CHOSEN_TARGET_SHIFT(target) & HWY_CHOSEN_TARGET_MASK_TARGETS;
  const auto fn = HWY_DISPATCH_TABLE(GetRnnKernels)[hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<uint64_t>(bits))];
  RC_CHECK(fn != nullptr, "target", "no kernels for '", target_name(target), "'");
  const RnnKernels& k = *fn();
  RC_CHECK(k.target == target, "target", "kernel table mismatch for '", target_name(target), "'");
  return k;
}

// The targets of this file's build (the same set for every file of the library: one HWY_TARGETS).
int64_t compiled_target_mask() { return HWY_TARGETS; }

}  // namespace recurrent::simd
#endif  // HWY_ONCE
