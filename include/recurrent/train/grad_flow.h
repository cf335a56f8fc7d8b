// recurrent/train/grad_flow.h — gradient-flow measurements for the gradient lab (docs/gradlab.md).
//
// Why gradients vanish or explode (Bengio et al. 1994; Pascanu et al. 2013): BPTT multiplies the
// gradient by one state Jacobian per step back,
//     ∂L/∂s_{t-k} = J_{t-k+1}ᵀ ⋯ J_tᵀ ∂L/∂s_t,     J_t = ∂s_t/∂s_{t-1},
// and for a tanh RNN J_t = diag(1 − h_t²) W_hh, so ‖∂L/∂s_{t-k}‖ shrinks at least as fast as ‖W_hh‖₂^k
// when ‖W_hh‖₂ < 1, and can only grow when ρ(W_hh) > 1. Here:
//   spectral_radius  ρ(A) = max |λ_i(A)| of a square matrix, by Gelfand's formula ρ = lim ‖A^k‖^{1/k},
//                    k = 2^squarings, with the scale tracked in logs (no overflow/underflow). The error is
//                    ≲ log(√n · cond)/k: about 1e-5 relative for k = 2^20 unless eigenvalues sit in big
//                    Jordan blocks. Nilpotent matrices give 0.
//   spectral_norm    ‖A‖₂ = σ_max(A) = sqrt(ρ(AᵀA)) (same method on the symmetric AᵀA).
//   state_jacobian   J = ∂s'/∂s of one step of a one-layer, one-direction network at state s and input x,
//                    s = h (R values) or (h, c) for LSTM (R + H); by S reverse passes of the stack itself.
//   jacobian_profile the Jacobians along a trajectory: per step ‖J_t‖₂, and the growth rate of their product
//                    (1/T) log ‖J_T ⋯ J_1‖₂ (the finite-time top Lyapunov exponent). Norms by power iteration
//                    on JᵀJ (converges unless the top two singular values nearly coincide); O(T·S³) for the
//                    product, a few seconds for S = 256 (LSTM, H = 128) and T = 200.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent/core/tensor.h"
#include "recurrent/nn/rnn.h"

namespace recurrent {

double spectral_radius(const float* a, int64_t n, int64_t ld, int squarings = 20);
double spectral_norm(const float* a, int64_t rows, int64_t cols, int64_t ld, int squarings = 20);

// x: [I] input at this step; h: [R]; c: [H] (LSTM, else empty). Returns J [S, S], J[i, j] = ∂s'_i/∂s_j.
Tensor state_jacobian(RNN& rnn, const std::vector<float>& x, const std::vector<float>& h, const std::vector<float>& c);

struct JacobianProfile {
  std::vector<double> step_norm;   // [T] ‖J_t‖₂
  std::vector<double> log_product;  // [T] log ‖J_t ⋯ J_1‖₂
  double rate() const { return log_product.empty() ? 0.0 : log_product.back() / static_cast<double>(log_product.size()); }
};
// xs: [T, 1, I] one sequence, from the zero state (or h0/c0 when given, each [R] / [H]).
JacobianProfile jacobian_profile(RNN& rnn, const Tensor& xs, std::vector<float> h0 = {}, std::vector<float> c0 = {});

}  // namespace recurrent
