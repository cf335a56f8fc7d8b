// The two linear-algebra steps of an echo state network, done by Eigen (Debian libeigen3-dev), not by
// hand: the spectral radius that scales the reservoir, and the ridge solve of the readout.
#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"

namespace recurrent::tasks {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

double spectral_radius(const std::vector<double>& a, int64_t n) {
  RC_CHECK(n >= 1 && a.size() == static_cast<size_t>(n * n), "spectral_radius", "expected ", n, "x", n, " values");
  const Eigen::Map<const RowMat> m(a.data(), n, n);
  Eigen::EigenSolver<Eigen::MatrixXd> es(m, /*computeEigenvectors=*/false);
  RC_CHECK(es.info() == Eigen::Success, "spectral_radius", "the eigenvalue solver did not converge");
  return es.eigenvalues().cwiseAbs().maxCoeff();
}

// Normal equations (Xᵀ X + β I) Wᵀ = Xᵀ Y, X [T, F], Y [T, O]; the F×F matrix is symmetric positive
// semi-definite (definite for β > 0), so LDLT (Eigen's robust Cholesky with pivoting) solves it.
std::vector<double> ridge_solve(const std::vector<double>& x, const std::vector<double>& y, int64_t T, int64_t F,
                                int64_t O, double beta, const std::string& where) {
  RC_CHECK(T >= 1 && F >= 1 && O >= 1 && x.size() == static_cast<size_t>(T * F) &&
               y.size() == static_cast<size_t>(T * O),
           where, "ridge regression: expected X [", T, ", ", F, "] and Y [", T, ", ", O, "]");
  RC_CHECK(beta >= 0 && std::isfinite(beta), "--ridge", "expected a regularisation >= 0, got ", beta);
  const Eigen::Map<const RowMat> X(x.data(), T, F);
  const Eigen::Map<const RowMat> Y(y.data(), T, O);
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(F, F);
  A.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());  // Xᵀ X (lower triangle)
  A = A.selfadjointView<Eigen::Lower>();
  A.diagonal().array() += beta;
  const Eigen::MatrixXd B = X.transpose() * Y;  // [F, O]
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(A);
  // β > 0: positive definite, however ill-conditioned (a tiny β is the user's choice). β = 0: refused when
  // singular (numerically): a pivot of the LDLT factorisation at the rounding level of the largest one.
  const double dmax = ldlt.info() == Eigen::Success ? ldlt.vectorD().cwiseAbs().maxCoeff() : 0.0;
  const double dmin = ldlt.info() == Eigen::Success ? ldlt.vectorD().minCoeff() : 0.0;
  RC_CHECK(ldlt.info() == Eigen::Success && (beta > 0 || dmin > static_cast<double>(F) * std::numeric_limits<double>::epsilon() * dmax), where,
           "the readout's least-squares system is singular (", T, " fitted steps for ", F,
           " features; smallest / largest pivot ", dmax > 0 ? dmin / dmax : 0.0,
           "): give --ridge > 0 or a longer training part");
  const Eigen::MatrixXd W = ldlt.solve(B);  // [F, O]
  std::vector<double> out(static_cast<size_t>(O * F));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t f = 0; f < F; ++f) out[o * F + f] = W(f, o);
  for (double v : out) RC_CHECK(std::isfinite(v), where, "the readout solve gave non-finite weights");
  return out;
}

}  // namespace recurrent::tasks
