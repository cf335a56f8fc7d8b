// recurrent.torch's inference call in one C function (issue 21: the Python layer's overhead per call at
// B = 1, T = 1). `module(x)` on a drop-in (LSTM/GRU/RNN) enters torch_call, the classes' __call__:
//
//   module(x), grad mode off, x a contiguous CPU float32 3-D torch.Tensor, no hooks, no tracing, no dropout
//   to draw, the weights as the module's fast state saw them (the same Parameter objects, data pointers and
//   torch version counters)  ->  the engine on x's memory  ->  (output, (h_n, c_n)) or (output, h_n)
//
// and everything else goes to torch.nn.Module.__call__ as it is at that moment (hooks, torch.fx's patch),
// hence to the drop-in's Python forward, which (re)builds the fast state (`_rc_fast` in the module's
// __dict__, a capsule: the engine and the weights' snapshot) after it has bound the engine to the weights.
// What the C path checks is what that Python forward checks; it reads the same attributes torch.nn keeps
// current (_flat_weights, training, batch_first, dropout, num_layers, the hook dicts).
//
// Outputs are torch tensors over the engine's own memory, handed to torch through DLPack
// (torch._C._from_dlpack; dlpack/dlpack.h from Debian's libdlpack-dev): no NumPy array, no capsule chain
// that needs the GIL to free. The extension does not import torch: recurrent.torch hands over what this
// file needs from it once (_torch_setup).
#include <dlpack/dlpack.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "engine_call.h"
#include "recurrent/core/error.h"

namespace py = pybind11;
namespace rc = recurrent;

namespace {

// What recurrent.torch hands over from torch (references held for the process's life).
struct TorchApi {
  PyObject* tensor_type = nullptr;      // torch.Tensor (the fast path takes exactly this type)
  PyObject* is_grad_enabled = nullptr;  // torch._C.is_grad_enabled
  PyObject* is_tracing = nullptr;       // torch._C._is_tracing
  PyObject* from_dlpack = nullptr;      // torch._C._from_dlpack
  PyObject* float32 = nullptr;          // torch.float32
  PyObject* module_type = nullptr;      // torch.nn.Module
  PyObject* module_call = nullptr;      // torch.nn.Module.__call__ when recurrent.torch was imported
  std::vector<PyObject*> global_hooks;  // torch's module-level hook dicts (each must be empty)
  std::vector<PyObject*> hook_names;    // the module's own hook dict attributes (each must be empty)
};
TorchApi api;

PyObject* interned(const char* s) { return PyUnicode_InternFromString(s); }
struct Names {
  PyObject* call = interned("__call__");
  PyObject* rc_fast = interned("_rc_fast");
  PyObject* flat = interned("_flat_weights");
  PyObject* training = interned("training");
  PyObject* batch_first = interned("batch_first");
  PyObject* dropout = interned("dropout");
  PyObject* num_layers = interned("num_layers");
  PyObject* forward = interned("forward");
  PyObject* data_ptr = interned("data_ptr");
  PyObject* version = interned("_version");
  PyObject* dtype = interned("dtype");
  PyObject* is_cpu = interned("is_cpu");
  PyObject* shape = interned("shape");
  PyObject* is_contiguous = interned("is_contiguous");
  PyObject* is_neg = interned("is_neg");
};
const Names& names() {
  static const Names n;
  return n;
}

constexpr const char* kCapsule = "recurrent.torch_fast";

// A module's fast state: its engine and its weights as the engine was bound to them.
struct FastState {
  py::object cls, forward;  // the module's class and its forward (a subclass's own forward, or one patched in, runs in Python)
  py::object engine;  // recurrent.RNN (keeps rnn alive)
  recurrent_py::PyRNN* rnn = nullptr;
  bool batch_first = false;
  struct Weight {
    py::object param;  // the Parameter object (identity)
    long long ptr = 0, version = 0;
  };
  std::vector<Weight> weights;
};

// New references, or null with no error set when the value is not the expected kind.
long long as_ll(PyObject* o) {  // consumes o; -1 with an error set on failure
  if (!o) return -1;
  long long v = PyLong_AsLongLong(o);
  Py_DECREF(o);
  return v;
}
long long ptr_of(PyObject* t) { return as_ll(PyObject_CallMethodNoArgs(t, names().data_ptr)); }
long long version_of(PyObject* t) { return as_ll(PyObject_GetAttr(t, names().version)); }
bool is(PyObject* o, PyObject* expected) {  // consumes o
  bool r = o == expected;
  Py_XDECREF(o);
  return r;
}

// ---- outputs to torch through DLPack -------------------------------------------------------------

struct Exported {
  DLManagedTensor m{};
  rc::Tensor t;
  int64_t shape[8], strides[8];
};

void free_exported(DLManagedTensor* m) { delete static_cast<Exported*>(m->manager_ctx); }  // any thread, no GIL

void capsule_dtor(PyObject* cap) {  // torch renames a capsule it took to "used_dltensor" (and frees it itself)
  if (PyCapsule_IsValid(cap, "dltensor")) free_exported(static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor")));
}

// t (contiguous float32, rank <= 8) as a torch tensor over the same memory; new reference or null with an error.
PyObject* to_torch(rc::Tensor t) {
  auto* e = new Exported;
  e->t = t.is_contiguous() ? std::move(t) : t.contiguous();
  const int nd = static_cast<int>(e->t.dim());
  int64_t stride = 1;
  for (int d = nd - 1; d >= 0; --d) {
    e->shape[d] = e->t.shape()[static_cast<size_t>(d)];
    e->strides[d] = stride;
    stride *= e->shape[d];
  }
  DLTensor& dl = e->m.dl_tensor;
  dl.data = const_cast<float*>(std::as_const(e->t).data());
  dl.device = DLDevice{kDLCPU, 0};
  dl.ndim = nd;
  dl.dtype = DLDataType{kDLFloat, 32, 1};
  dl.shape = e->shape;
  dl.strides = e->strides;
  dl.byte_offset = 0;
  e->m.manager_ctx = e;
  e->m.deleter = free_exported;
  PyObject* cap = PyCapsule_New(&e->m, "dltensor", capsule_dtor);
  if (!cap) {
    delete e;
    return nullptr;
  }
  PyObject* r = PyObject_CallOneArg(api.from_dlpack, cap);
  Py_DECREF(cap);
  return r;
}

// ---- the fast call --------------------------------------------------------------------------------

// True when the module's call may skip torch.nn.Module.__call__: no hooks anywhere, not patched, no tracing.
bool plain_call(PyObject* dict) {
  for (PyObject* d : api.global_hooks)
    if (PyDict_GET_SIZE(d) != 0) return false;
  for (PyObject* n : api.hook_names) {
    PyObject* h = PyDict_GetItemWithError(dict, n);
    if (!h || !PyDict_Check(h) || PyDict_GET_SIZE(h) != 0) return false;
  }
  if (!is(PyObject_GetAttr(api.module_type, names().call), api.module_call)) return false;
  if (!is(PyObject_CallNoArgs(api.is_grad_enabled), Py_False)) return false;
  return is(PyObject_CallNoArgs(api.is_tracing), Py_False);
}

// The module's own state: its fast state, when its class, forward, weights and options are still the ones it saw.
FastState* current_state(PyObject* self, PyObject* dict) {
  const Names& n = names();
  PyObject* cap = PyDict_GetItemWithError(dict, n.rc_fast);
  if (!cap || !PyCapsule_CheckExact(cap)) return nullptr;
  auto* st = static_cast<FastState*>(PyCapsule_GetPointer(cap, kCapsule));
  if (!st || reinterpret_cast<PyObject*>(Py_TYPE(self)) != st->cls.ptr() || PyDict_GetItemWithError(dict, n.forward) ||
      !is(PyObject_GetAttr(st->cls.ptr(), n.forward), st->forward.ptr()))
    return nullptr;
  PyObject* bf = PyDict_GetItemWithError(dict, n.batch_first);
  PyObject* training = PyDict_GetItemWithError(dict, n.training);
  PyObject* dropout = PyDict_GetItemWithError(dict, n.dropout);
  PyObject* layers = PyDict_GetItemWithError(dict, n.num_layers);
  if (!bf || !training || !dropout || !layers || (bf == Py_True) != st->batch_first) return nullptr;
  if (training != Py_False) {  // dropout between layers to draw: the Python forward draws it with torch
    const double p = PyFloat_AsDouble(dropout);
    const long l = PyLong_AsLong(layers);
    if (PyErr_Occurred() || (p > 0 && l > 1)) return nullptr;
  }
  PyObject* flat = PyDict_GetItemWithError(dict, n.flat);
  if (!flat || !PyList_CheckExact(flat) || static_cast<size_t>(PyList_GET_SIZE(flat)) != st->weights.size()) return nullptr;
  for (size_t i = 0; i < st->weights.size(); ++i) {
    PyObject* p = PyList_GET_ITEM(flat, static_cast<Py_ssize_t>(i));
    const FastState::Weight& w = st->weights[i];
    if (p != w.param.ptr() || ptr_of(p) != w.ptr || version_of(p) != w.version || PyErr_Occurred()) return nullptr;
  }
  return st;
}

// x's memory and shape if x (a torch.Tensor) is a contiguous 3-D CPU float32 tensor, else a null pointer. (Not
// through torch's DLPack export: torch 1.13's at::toDLPack runs an as_strided op through the dispatcher.)
std::pair<float*, std::vector<int64_t>> input_of(PyObject* x) {
  const Names& n = names();
  std::pair<float*, std::vector<int64_t>> r{nullptr, {}};
  if (!is(PyObject_GetAttr(x, n.dtype), api.float32) || !is(PyObject_GetAttr(x, n.is_cpu), Py_True)) return r;
  PyObject* s = PyObject_GetAttr(x, n.shape);  // torch.Size, a tuple
  if (s && PyTuple_Check(s) && PyTuple_GET_SIZE(s) == 3)
    for (Py_ssize_t d = 0; d < 3; ++d) r.second.push_back(PyLong_AsLongLong(PyTuple_GET_ITEM(s, d)));
  Py_XDECREF(s);
  if (r.second.size() != 3 || !is(PyObject_CallMethodNoArgs(x, n.is_contiguous), Py_True)) return r;
  if (!is(PyObject_CallMethodNoArgs(x, n.is_neg), Py_False)) return r;  // a lazy negation (torch._neg_view): not in memory
  const long long p = ptr_of(x);
  if (!PyErr_Occurred()) r.first = reinterpret_cast<float*>(static_cast<uintptr_t>(p));
  return r;
}

// The fast path: a new reference to the call's result, or null (no error set: take the ordinary call).
PyObject* try_fast(PyObject* self, PyObject* x) {
  if (Py_TYPE(x) != reinterpret_cast<PyTypeObject*>(api.tensor_type)) return nullptr;
  PyObject* dict = PyObject_GenericGetDict(self, nullptr);
  if (!dict) return nullptr;
  FastState* st = plain_call(dict) ? current_state(self, dict) : nullptr;
  Py_DECREF(dict);
  if (!st) return nullptr;
  auto [ptr, shape] = input_of(x);
  if (!ptr) return nullptr;
  recurrent_py::InferOut o =
      recurrent_py::infer(*st->rnn, borrow_ptr(reinterpret_cast<uintptr_t>(ptr), shape, py::reinterpret_borrow<py::object>(x)));
  py::object out = py::reinterpret_steal<py::object>(to_torch(std::move(o.output)));
  py::object h = out ? py::reinterpret_steal<py::object>(to_torch(std::move(o.h_n))) : py::object();
  if (!h) throw py::error_already_set();
  if (!o.c_n.defined()) return py::make_tuple(out, h).release().ptr();
  py::object c = py::reinterpret_steal<py::object>(to_torch(std::move(o.c_n)));
  if (!c) throw py::error_already_set();
  return py::make_tuple(out, py::make_tuple(h, c)).release().ptr();
}

// The drop-ins' __call__(self, *args, **kwargs).
PyObject* torch_call(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  try {
    if (nargs == 2 && !kwnames && api.from_dlpack) {
      if (PyObject* r = try_fast(args[0], args[1])) return r;
      if (PyErr_Occurred()) PyErr_Clear();  // a check that could not be made: the ordinary call decides
    }
  } catch (const rc::Error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  } catch (py::error_already_set& e) {
    e.restore();
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  PyObject* call = PyObject_GetAttr(api.module_type, names().call);  // torch.nn.Module.__call__ as it is now
  if (!call) return nullptr;
  PyObject* r = PyObject_Vectorcall(call, args, static_cast<size_t>(nargs), kwnames);
  Py_DECREF(call);
  return r;
}

PyMethodDef torch_call_def = {"__call__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(torch_call)),
                              METH_FASTCALL | METH_KEYWORDS,
                              "torch.nn.Module.__call__, with recurrent.torch's inference call in one C function"};

}  // namespace

void bind_torch_fast(py::module_& m) {
  m.def(
      "_torch_setup",
      [](py::object tensor_type, py::object is_grad_enabled, py::object is_tracing, py::object from_dlpack,
         py::object float32, py::object module_type, py::list global_hooks, py::list hook_names) {
        api.tensor_type = tensor_type.release().ptr();
        api.float32 = float32.release().ptr();
        api.is_grad_enabled = is_grad_enabled.release().ptr();
        api.is_tracing = is_tracing.release().ptr();
        api.module_call = py::object(module_type.attr("__call__")).release().ptr();
        api.module_type = module_type.release().ptr();
        for (py::handle d : global_hooks) {
          RC_CHECK(PyDict_Check(d.ptr()), "_torch_setup", "expected dicts of hooks");
          api.global_hooks.push_back(d.inc_ref().ptr());
        }
        for (py::handle n : hook_names) api.hook_names.push_back(PyUnicode_InternFromString(n.cast<std::string>().c_str()));
        api.from_dlpack = from_dlpack.release().ptr();  // last: set means ready
      },
      "recurrent.torch hands over torch.Tensor, torch._C.is_grad_enabled, torch._C._is_tracing, torch._C._from_dlpack, "
      "torch.float32, torch.nn.Module, torch's global hook dicts and the names of a module's hook dicts");
  m.def(
      "_torch_fast",
      [](py::object cls, py::object engine, bool batch_first, py::list weights) {
        auto* st = new FastState;
        py::capsule cap(st, kCapsule, [](PyObject* c) { delete static_cast<FastState*>(PyCapsule_GetPointer(c, kCapsule)); });
        st->forward = cls.attr("forward");
        st->cls = std::move(cls);
        st->rnn = recurrent_py::engine_of(engine);
        st->engine = std::move(engine);
        st->batch_first = batch_first;
        for (py::handle p : weights) {
          FastState::Weight w{py::reinterpret_borrow<py::object>(p), ptr_of(p.ptr()), version_of(p.ptr())};
          if (PyErr_Occurred()) throw py::error_already_set();
          st->weights.push_back(std::move(w));
        }
        return cap;
      },
      py::arg("cls"), py::arg("engine"), py::arg("batch_first"), py::arg("weights"),
      "a drop-in's fast state: its class, its engine (bound to `weights`, the module's _flat_weights, as they are now)");
  PyObject* f = PyCFunction_NewEx(&torch_call_def, nullptr, nullptr);
  if (!f) throw py::error_already_set();
  PyObject* meth = PyInstanceMethod_New(f);  // binds as a method, as a Python function would
  Py_DECREF(f);
  if (!meth) throw py::error_already_set();
  m.add_object("_torch_call", py::reinterpret_steal<py::object>(meth));
}
