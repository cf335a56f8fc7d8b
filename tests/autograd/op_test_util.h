// tests/autograd/op_test_util.h — helpers shared by the op tests (tests/autograd/test_ops_*.cpp).
//
//   strided_copy(t)          a NON-contiguous view holding t's values (every stride doubled)
//   strided_inputs_match(f)  f on strided views gives the same output and gradients as on contiguous leaves
//   throws_error(f, op, s)   f throws recurrent::Error whose where() is `op` and whose message contains s
//   Ref / ref helpers        plain double loops over row-major vectors: the independent forward oracle
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent::testing {

// t's values in a view whose strides are all doubled (a [..., 2] buffer with the last dim selected
// at 0): not contiguous whenever t has more than one element.
inline Tensor strided_copy(const Tensor& t) {
  Shape s = t.shape();
  s.push_back(2);
  Tensor big(s);
  big.fill_(1234.5f);  // poison the gaps: an op that reads them as if contiguous gets wrong values
  Tensor v = big.select(t.dim(), 0);
  v.copy_(t);
  return v;
}

// Runs f twice — on contiguous leaves and on strided views of the same values — with the same seed
// gradient; outputs and every input gradient must agree to float rounding (they are computed from
// the same contiguous copies, so in practice they are bit-identical).
inline ::testing::AssertionResult strided_inputs_match(const GradFn& f, const std::vector<Tensor>& inputs) {
  auto run = [&](bool strided, Tensor& out, std::vector<Tensor>& grads) {
    std::vector<Var> vs;
    for (const Tensor& t : inputs) {
      Tensor v = strided ? strided_copy(t) : t.clone();
      if (strided && t.numel() > 1 && v.is_contiguous()) return false;
      vs.emplace_back(v, true);
    }
    Var y = f(vs);
    out = y.value().clone();
    Rng rng(77);
    y.backward(random_tensor(y.shape(), rng));
    for (Var& v : vs) grads.push_back(v.has_grad() ? v.grad().clone() : Tensor(v.shape()));
    return true;
  };
  Tensor out_c, out_s;
  std::vector<Tensor> g_c, g_s;
  run(false, out_c, g_c);
  if (!run(true, out_s, g_s)) return ::testing::AssertionFailure() << "strided_copy produced a contiguous view";
  auto r = tensor_near(out_s, out_c, 1e-6, 1e-6);
  if (!r) return ::testing::AssertionFailure() << "output differs for strided inputs: " << r.message();
  for (size_t k = 0; k < g_c.size(); ++k) {
    auto rg = tensor_near(g_s[k], g_c[k], 1e-6, 1e-6);
    if (!rg) return ::testing::AssertionFailure() << "gradient of input " << k << " differs: " << rg.message();
  }
  return ::testing::AssertionSuccess();
}

// EXPECT_TRUE(throws_error([&] { op(...); }, "op", "part of the message")).
template <typename F>
::testing::AssertionResult throws_error(F&& f, const std::string& where, const std::string& what_part) {
  try {
    f();
  } catch (const Error& e) {
    if (e.where() != where)
      return ::testing::AssertionFailure() << "Error names '" << e.where() << "', expected '" << where
                                           << "' (message: " << e.what() << ")";
    if (e.message().find(what_part) == std::string::npos)
      return ::testing::AssertionFailure() << "message '" << e.message() << "' lacks '" << what_part << "'";
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-recurrent exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception thrown (expected Error from '" << where << "')";
}

// Values of a tensor in row-major order, as doubles.
inline std::vector<double> values(const Tensor& t) {
  std::vector<float> f = t.to_vector();
  return {f.begin(), f.end()};
}

inline Tensor tensor_of(const std::vector<double>& v, const Shape& shape) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from(std::move(f), shape);
}

}  // namespace recurrent::testing
