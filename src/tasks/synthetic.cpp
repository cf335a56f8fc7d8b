// Synthetic long-range tasks. Contract and sources: include/recurrent/tasks/synthetic.h.
#include "recurrent/tasks/synthetic.h"

#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent::tasks {

AddingBatch adding_problem(int64_t T, int64_t B, Rng& rng) {
  RC_CHECK(T >= 2 && B >= 1, "adding problem", "expected T >= 2 and B >= 1, got T = ", T, ", B = ", B);
  AddingBatch out{Tensor({T, B, 2}), Tensor({B, 1})};
  float* x = out.x.data();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) x[(t * B + b) * 2] = rng.uniform();
  const int64_t half = T / 2;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = static_cast<int64_t>(rng.below(half));
    const int64_t j = half + static_cast<int64_t>(rng.below(T - half));
    x[(i * B + b) * 2 + 1] = 1.0f;
    x[(j * B + b) * 2 + 1] = 1.0f;
    out.y.data()[b] = x[(i * B + b) * 2] + x[(j * B + b) * 2];
  }
  return out;
}

CopyBatch copy_task(int64_t T, int64_t B, Rng& rng) {
  RC_CHECK(T >= 1 && B >= 1, "copy task", "expected T >= 1 and B >= 1, got T = ", T, ", B = ", B);
  constexpr int64_t K = CopyBatch::kLength, C = CopyBatch::kInputs;
  const int64_t L = T + 2 * K;
  CopyBatch out{Tensor({L, B, C}), std::vector<int64_t>(L * B, 0)};
  float* x = out.x.data();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < L; ++t) {
      int64_t tok = 0;  // blank
      if (t < K) {
        tok = 1 + static_cast<int64_t>(rng.below(CopyBatch::kSymbols));
        out.y[(T + K + t) * B + b] = tok;  // recalled after the delimiter
      } else if (t == T + K - 1) {
        tok = C - 1;  // delimiter
      }
      x[(t * B + b) * C + tok] = 1.0f;
    }
  }
  return out;
}

double copy_baseline_ce(int64_t T) {
  return CopyBatch::kLength * std::log(static_cast<double>(CopyBatch::kSymbols)) / static_cast<double>(T + 20);
}

AgreementBatch agreement_task(int64_t D, int64_t B, Rng& rng, int64_t fillers) {
  RC_CHECK(D >= 0 && B >= 1 && fillers >= 1, "agreement task", "expected D >= 0, B >= 1, fillers >= 1, got D = ",
           D, ", B = ", B, ", fillers = ", fillers);
  const int64_t L = D + 2, V = fillers + 4;
  AgreementBatch out{Tensor({L, B, V}), std::vector<int64_t>(B), V};
  float* x = out.x.data();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t plural = static_cast<int64_t>(rng.below(2));
    out.y[b] = plural;
    x[b * V + 1 + plural] = 1.0f;
    for (int64_t t = 1; t <= D; ++t) x[(t * B + b) * V + 3 + static_cast<int64_t>(rng.below(fillers))] = 1.0f;
    x[((D + 1) * B + b) * V + fillers + 3] = 1.0f;
  }
  return out;
}

}  // namespace recurrent::tasks
