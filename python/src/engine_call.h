// What python/src/torch_fast.cpp (recurrent.torch's one-call inference) needs from module.cpp's recurrent.RNN.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent_py {

class PyRNN;  // module.cpp: the object behind recurrent.RNN

// The PyRNN behind a recurrent.RNN object (a cast error if `obj` is not one); it lives as long as obj.
PyRNN* engine_of(const pybind11::handle& obj);

// One inference call without a tape (GIL released while the engine runs): x [T, B, I] ([B, T, I] with
// batch_first) -> output [T, B, D*R], h_n [L*D, B, R], c_n [L*D, B, H] (LSTM stacks; else undefined).
struct InferOut {
  recurrent::Tensor output, h_n, c_n;
};
InferOut infer(PyRNN& e, recurrent::Tensor x);

}  // namespace recurrent_py

// A contiguous float32 buffer owned by `keep` (a torch tensor whose dtype, device and layout the caller has
// checked) as a tensor over the same memory; keep stays alive as long as the tensor (module.cpp).
recurrent::Tensor borrow_ptr(uintptr_t ptr, const std::vector<int64_t>& shape, const pybind11::object& keep);
