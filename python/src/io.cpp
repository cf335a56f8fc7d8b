// recurrent.load_safetensors / save_safetensors — safetensors files as dicts of NumPy arrays, with the
// library's reader and writer (include/recurrent/io/safetensors.h): PyTorch state_dict names load
// into recurrent.RNN / recurrent.torch modules and back; the CLI reads what Python writes.
//   floating dtypes (F16, BF16, F32, F64) -> float32 arrays (converted as the library converts them);
//   integer and BOOL dtypes -> int64 arrays. Writing: float32 arrays as F32 (borrowed, no copy),
//   int64 arrays as I64; anything else is ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "recurrent/core/error.h"
#include "recurrent/io/dtype.h"
#include "recurrent/io/safetensors.h"

namespace py = pybind11;
namespace rc = recurrent;

rc::Tensor borrow_array(const py::handle& obj, const std::string& name);  // module.cpp
py::array to_array(const rc::Tensor& t, bool writeable);                   // module.cpp

namespace {

py::tuple load(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    PyErr_SetString(PyExc_FileNotFoundError, (path + ": no such file or directory").c_str());
    throw py::error_already_set();
  }
  rc::io::SafeTensors st = [&] {
    py::gil_scoped_release nogil;
    return rc::io::read_safetensors(path);
  }();
  py::dict tensors;
  for (const std::string& name : st.names()) {
    const rc::io::TensorInfo& info = st.info(name);
    if (rc::io::dtype_is_float(info.dtype)) {
      tensors[py::str(name)] = to_array(st.get_f32(name), true);
    } else {
      std::vector<int64_t> v = st.get_i64(name);
      std::vector<py::ssize_t> shape(info.shape.begin(), info.shape.end());
      py::array_t<int64_t> a(shape);
      if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(int64_t));
      tensors[py::str(name)] = a;
    }
  }
  py::dict meta;
  for (const auto& [k, v] : st.metadata()) meta[py::str(k)] = v;
  return py::make_tuple(tensors, meta);
}

void save(const std::string& path, const py::dict& tensors, const py::object& metadata) {
  rc::io::NamedTensors f32;
  rc::io::NamedI64Tensors i64;
  for (auto item : tensors) {
    std::string name = py::str(item.first);
    py::handle v = item.second;
    if (py::isinstance<py::array>(v) && py::reinterpret_borrow<py::array>(v).dtype().kind() == 'i') {
      auto a = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(v);
      if (!a) throw rc::Error(name, "expected an integer array convertible to int64");
      rc::io::I64Tensor t;
      t.shape.assign(a.shape(), a.shape() + a.ndim());
      t.values.assign(a.data(), a.data() + a.size());
      i64.emplace_back(name, std::move(t));
    } else {
      f32.emplace_back(name, borrow_array(v, name));  // float32, C-contiguous, else ValueError
    }
  }
  rc::io::Metadata meta;
  if (!metadata.is_none())
    for (auto item : metadata.cast<py::dict>()) meta[py::str(item.first)] = py::str(item.second);
  py::gil_scoped_release nogil;
  rc::io::write_safetensors(path, f32, meta, i64);
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("load_safetensors", &load, py::arg("path"),
        "(tensors, metadata) of a safetensors file: {name: array} (floating dtypes as float32, integer ones as "
        "int64) and {key: value}. A missing file is FileNotFoundError; a malformed one ValueError.");
  m.def("save_safetensors", &save, py::arg("path"), py::arg("tensors"), py::arg("metadata") = py::none(),
        "write {name: float32 or int64 array} (and string metadata) atomically, as the library writes checkpoints");
}
