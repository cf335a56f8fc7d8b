// recurrent/tasks/synthetic.h — synthetic long-range tasks, generated in code from the seeded Rng.
//
// Legend: T the task's delay, B batch, L = sequence length. All inputs are time-major [L, B, ·].
//
//   adding     (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015 / Arjovsky et al. 2016)
//              L = T, input [T, B, 2]: channel 0 values ~ U[0, 1), channel 1 markers, exactly two 1s,
//              one at a uniform position in [0, T/2) and one in [T/2, T). Target [B, 1]: the sum of the
//              two marked values. Predicting the mean 1 gives MSE = Var(u1 + u2) = 2/12 ≈ 0.167.
//   copy       (Arjovsky et al. 2016) alphabet a0 = blank, a1..a8 symbols, a9 = delimiter; L = T + 20.
//              Input one-hot [T+20, B, 10]: 10 symbols ~ U{1..8}, T−1 blanks, the delimiter, 10 blanks.
//              Targets (T+20)·B class ids in 0..8, time-major: T+10 blanks, then the 10 symbols.
//              A memoryless model that outputs blanks, then uniform symbols, scores
//              cross-entropy 10·log 8 / (T + 20) per step.
//   agreement  number agreement at a distance ("The cat, which …, was" / "The cats, which …, were"):
//              L = D + 2, one-hot over V = fillers + 4 tokens: t = 0 the subject, "cat" (1, singular) or
//              "cats" (2, plural), then D fillers ~ U{3..fillers+2}, then the verb slot (fillers + 3).
//              Target [B]: 0 singular, 1 plural, read at the last step; chance is 50%.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"

namespace recurrent::tasks {

struct AddingBatch {
  Tensor x;  // [T, B, 2]
  Tensor y;  // [B, 1]
};
AddingBatch adding_problem(int64_t T, int64_t B, Rng& rng);
inline double adding_baseline_mse() { return 1.0 / 6.0; }

struct CopyBatch {
  Tensor x;                    // [T+20, B, 10] one-hot
  std::vector<int64_t> y;      // [(T+20)·B] time-major class ids 0..8
  static constexpr int64_t kSymbols = 8, kLength = 10, kInputs = 10, kClasses = 9;
};
CopyBatch copy_task(int64_t T, int64_t B, Rng& rng);
double copy_baseline_ce(int64_t T);  // 10·log 8 / (T + 20) nats per step

struct AgreementBatch {
  Tensor x;                    // [D+2, B, V] one-hot
  std::vector<int64_t> y;      // [B] 0 singular, 1 plural
  int64_t vocab = 0;           // V = fillers + 4
};
AgreementBatch agreement_task(int64_t D, int64_t B, Rng& rng, int64_t fillers = 20);

}  // namespace recurrent::tasks
