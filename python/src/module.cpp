// recurrent._recurrent — the Python extension (pybind11): recurrent's layer stack (RNN/LSTM/GRU and every
// variant of include/recurrent/nn/rnn.h) over NumPy arrays, forward and backward; language models
// written by the CLI (lm.cpp).
//
//   RNN(cell, input_size, hidden_size, num_layers, ...)      cell: a name or one name per layer
//   rnn.forward(x, lengths, h0, c0, ...) -> Forward           x [T, B, I] ([B, T, I] with batch_first)
//   fwd.output [T, B, D·R], fwd.h_n [L·D, B, R], fwd.c_n [L·D, B, H] (LSTM; else None)
//   fwd.backward(grad_output, grad_h_n, grad_c_n) -> (dx, dh0, dc0, {name: dW})
//
// Arrays in are borrowed, not copied (Tensor::borrow): float32 and C-contiguous, else ValueError (a
// copy would hide a cost; np.ascontiguousarray makes one). Arrays out are views of the library's own
// storage, kept alive by the array (a capsule holds the tensor). The GIL is released while the engine
// runs. recurrent::Error becomes ValueError with the library's one-line message ("where: what").
// recurrent.torch (python/recurrent/torch.py) builds the PyTorch drop-ins on this.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/core/float_env.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/tensor.h"
#include "recurrent/core/threads.h"
#include "recurrent/nn/rnn.h"
#include "engine_call.h"

namespace py = pybind11;
namespace rc = recurrent;

// ---- arrays <-> tensors (also used by io.cpp) ----------------------------------------------------------

// A NumPy array as a tensor over the same memory; the array stays alive as long as the tensor.
rc::Tensor borrow_array(const py::handle& obj, const std::string& name) {
  if (!py::isinstance<py::array>(obj))
    throw rc::Error(name, "expected a numpy.ndarray, got " + std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>()))
    throw rc::Error(name, "expected dtype float32, got " + std::string(py::str(a.dtype())));
  if (!(a.flags() & py::array::c_style))
    throw rc::Error(name, "expected a C-contiguous array (np.ascontiguousarray makes a copy)");
  rc::Shape shape(a.shape(), a.shape() + a.ndim());
  PyObject* o = a.ptr();
  Py_INCREF(o);
  // The last view may die with the GIL released (a tape freed inside backward): take it to decref.
  std::shared_ptr<void> owner(o, [](void* p) {
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
  return rc::Tensor::borrow(const_cast<float*>(static_cast<const float*>(a.data())), std::move(shape), owner);
}

// A contiguous float32 buffer owned by `keep` (a torch tensor: recurrent.torch has checked dtype, device and
// layout) as a tensor over the same memory; keep stays alive as long as the tensor.
rc::Tensor borrow_ptr(uintptr_t ptr, const std::vector<int64_t>& shape, const py::object& keep) {
  RC_CHECK(ptr != 0 || std::find(shape.begin(), shape.end(), 0) != shape.end(), "input", "null data pointer");
  PyObject* o = keep.ptr();
  Py_INCREF(o);
  std::shared_ptr<void> owner(o, [](void* p) {
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
  return rc::Tensor::borrow(reinterpret_cast<float*>(ptr), rc::Shape(shape.begin(), shape.end()), owner);
}

// A tensor as a NumPy array over the same memory (contiguous ones are not copied).
py::array to_array(const rc::Tensor& t0, bool writeable) {
  rc::Tensor t = t0.contiguous();
  const float* p = std::as_const(t).data();
  auto* keep = new rc::Tensor(std::move(t));
  py::capsule cap(keep, [](void* k) { delete static_cast<rc::Tensor*>(k); });
  std::vector<py::ssize_t> shape(keep->shape().begin(), keep->shape().end());
  py::array a(py::dtype::of<float>(), shape, {}, p, cap);
  if (!writeable) a.attr("setflags")(py::arg("write") = false);
  return a;
}

namespace {

std::optional<rc::Tensor> opt_array(const py::object& o, const std::string& name) {
  if (o.is_none()) return std::nullopt;
  return borrow_array(o, name);
}

// ---- one forward call and its backward ---------------------------------------------------------------

class Forward {
 public:
  rc::RNNOutput out;
  rc::Var x;
  std::vector<rc::Var> h0, c0;                               // per layer, empty when not given
  std::vector<std::pair<std::string, rc::Var>> params;       // as they were when forward ran
  int64_t directions = 1;
  bool recorded = false;                                     // a tape exists (backward possible)
  bool lstm_last = false;
  std::mutex* grad_mutex = nullptr;                          // the model's: parameter grads are shared leaves

  py::object output() const { return to_array(out.output.value(), true); }
  py::object h_n() const { return to_array(stacked(out.final_state.h), true); }
  py::object c_n() const {
    for (const rc::Var& c : out.final_state.c)
      if (!c.defined()) return py::none();
    return to_array(stacked(out.final_state.c), true);
  }
  // PyTorch's [L*D, B, R] from per-layer [D, B, R]: one layer's state as it is (no copy), else stacked.
  static rc::Tensor stacked(const std::vector<rc::Var>& per_layer) {
    return per_layer.size() == 1 && per_layer[0].defined() ? per_layer[0].value() : rc::stack_states(per_layer);
  }

  // grad_* may be None (that output's gradient is zero). Returns (dx, dh0, dc0, {name: grad}); an
  // entry is None where no gradient was asked for.
  py::tuple backward(const py::object& g_out, const py::object& g_h, const py::object& g_c) {
    if (!recorded) throw rc::Error("backward", "this forward call did not record a tape (requires_grad was false)");
    if (used_) throw rc::Error("backward", "called twice on one forward call (its tape is released after the first)");
    used_ = true;
    std::vector<rc::Var> roots;
    std::vector<rc::Tensor> seeds;
    auto add_root = [&](const rc::Var& v, const rc::Tensor& seed, const char* name) {
      RC_CHECK(seed.shape() == v.shape(), name, "expected shape ", rc::shape_str(v.shape()), ", got ",
               rc::shape_str(seed.shape()));
      if (v.requires_grad()) roots.push_back(v), seeds.push_back(seed);
    };
    if (auto g = opt_array(g_out, "grad_output")) add_root(out.output, *g, "grad_output");
    add_layer_roots(opt_array(g_h, "grad_h_n"), out.final_state.h, "grad_h_n", add_root);
    if (!g_c.is_none()) add_layer_roots(opt_array(g_c, "grad_c_n"), out.final_state.c, "grad_c_n", add_root);
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(*grad_mutex);
      for (auto& [n, p] : params)
        if (p.requires_grad()) p.node()->grad = rc::Tensor();  // this call's gradient alone
      if (!roots.empty()) {
        // One scalar root over every output that has a seed: its backward hands each seed on.
        rc::Var join = rc::make_op("py_backward", rc::Tensor::scalar(0.0f), roots, [seeds](rc::Node& n) {
          for (size_t i = 0; i < seeds.size(); ++i)
            if (rc::needs_grad(n, i)) rc::accumulate_grad(*n.inputs[i], seeds[i]);
        });
        join.backward(rc::Tensor::scalar(1.0f));
      }
      collected_.clear();
      for (auto& [n, p] : params) {
        collected_.emplace_back(p.requires_grad() && p.has_grad() ? p.node()->grad : rc::Tensor());
        if (p.requires_grad()) p.node()->grad = rc::Tensor();
      }
    }
    auto grad_or = [](const rc::Var& v, const rc::Shape& shape) -> py::object {
      if (!v.defined() || !v.requires_grad()) return py::none();
      return to_array(v.has_grad() ? v.node()->grad : rc::Tensor(shape), true);
    };
    py::dict dw;
    for (size_t i = 0; i < params.size(); ++i)
      dw[py::str(params[i].first)] = params[i].second.requires_grad()
                                         ? py::object(to_array(collected_[i].defined() ? collected_[i]
                                                                                       : rc::Tensor(params[i].second.shape()), true))
                                         : py::object(py::none());
    py::object dx = grad_or(x, x.defined() ? x.shape() : rc::Shape{});
    py::object dh0 = stacked_grad(h0), dc0 = stacked_grad(c0);
    out = rc::RNNOutput();  // release the tape's outputs
    return py::make_tuple(dx, dh0, dc0, dw);
  }

 private:
  bool used_ = false;
  std::vector<rc::Tensor> collected_;

  template <typename F>
  void add_layer_roots(const std::optional<rc::Tensor>& g, const std::vector<rc::Var>& states, const char* name, F& add_root) {
    if (!g) return;
    int64_t rows = 0;
    for (const rc::Var& s : states) rows += s.defined() ? s.size(0) : 0;
    RC_CHECK(g->dim() == 3 && g->size(0) == rows, name, "expected ", rows, " stacked states [L*D, B, R], got ",
             rc::shape_str(g->shape()));
    int64_t off = 0;
    for (const rc::Var& s : states) {
      if (!s.defined()) continue;
      add_root(s, g->slice(0, off, off + s.size(0)), name);
      off += s.size(0);
    }
  }
  py::object stacked_grad(const std::vector<rc::Var>& per_layer) const {
    if (per_layer.empty() || !per_layer[0].requires_grad()) return py::none();
    std::vector<rc::Var> g;
    for (const rc::Var& v : per_layer) g.emplace_back(v.has_grad() ? v.node()->grad : rc::Tensor(v.shape()));
    return to_array(rc::stack_states(g), true);
  }
};

// ---- the model -----------------------------------------------------------------------------------

std::vector<std::string> cell_list(const py::object& cell, int64_t layers) {
  std::vector<std::string> cells;
  if (py::isinstance<py::str>(cell)) {
    cells.assign(static_cast<size_t>(std::max<int64_t>(layers, 0)), cell.cast<std::string>());
  } else {
    cells = cell.cast<std::vector<std::string>>();
    RC_CHECK(static_cast<int64_t>(cells.size()) == layers, "cell", "expected ", layers, " cell names (one per layer), got ",
             cells.size());
  }
  return cells;
}

}  // namespace

namespace recurrent_py {

class PyRNN {
 public:
  PyRNN(const py::object& cell, int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first,
        bool bidirectional, int64_t proj_size, uint64_t seed, const std::string& merge)
      : rnn_(make(cell, input_size, hidden_size, num_layers, bias, batch_first, bidirectional, proj_size, merge), rng(seed)) {
    for (const auto& [n, p] : rnn_.named_parameters()) names_.push_back(n);
    bound_.assign(names_.size(), Bound{});
  }

  const std::vector<std::string>& names() const { return names_; }

  py::dict parameters() const {  // read-only views: write with set_parameter (keeps caches right)
    py::dict d;
    for (const auto& [n, p] : rnn_.named_parameters()) d[py::str(n)] = to_array(p.value(), false);
    return d;
  }
  // Buffers (lstm_bn's per-step running statistics; empty for the other cells): copies, and setting one replaces it
  // (its first dimension, the steps, may differ from the current one; the rest must match).
  py::dict buffers() const {
    py::dict d;
    for (const auto& [n, b] : rnn_.named_buffers()) d[py::str(n)] = to_array(b.clone(), true);
    return d;
  }
  void set_buffer(const std::string& name, const py::object& value) {
    const rc::Tensor* cur = rnn_.find_buffer(name);
    RC_CHECK(cur != nullptr, name, "not a buffer of this RNN (buffers(): ", rnn_.named_buffers().empty() ? "none" : "its names", ")");
    rc::Tensor src = borrow_array(value, name);
    RC_CHECK(rc::Module::buffer_fits(*cur, src), name, "expected shape ", rc::shape_str(cur->shape()), " (its first dimension may be any size from 1), got ",
             rc::shape_str(src.shape()));
    rnn_.set_buffer(name, src.clone());
  }
  void set_parameter(const std::string& name, const py::object& value) {
    rc::Tensor src = borrow_array(value, name);
    rc::Var p = rnn_.parameter(name);
    RC_CHECK(src.shape() == p.shape(), name, "expected shape ", rc::shape_str(p.shape()), ", got ", rc::shape_str(src.shape()));
    if (owned(name)) {
      p.value().copy_(src);
    } else {  // was bound to outside memory: own a copy again
      rnn_.replace_parameter(name, rc::Var(src.clone(), true));
      bound_[index(name)] = Bound{};
    }
  }

  // Use outside arrays (a PyTorch module's parameters) as the weights, without copying. versions[i]
  // is the owner's write counter (torch's Tensor._version): when it moved, the memory changed under
  // us and the packed-weight cache must see a new version.
  void bind_parameters(const py::list& arrays, const std::vector<int64_t>& versions, const std::vector<bool>& requires_grad) {
    RC_CHECK(arrays.size() == names_.size() && versions.size() == names_.size() && requires_grad.size() == names_.size(),
             "bind_parameters", "expected ", names_.size(), " arrays, versions and flags, got ", arrays.size());
    for (size_t i = 0; i < names_.size(); ++i) {
      py::array a = py::reinterpret_borrow<py::array>(arrays[i]);
      const void* ptr = a.data();
      rc::Var p = rnn_.parameter(names_[i]);
      Bound& b = bound_[i];
      if (ptr != b.ptr || !a.dtype().is(py::dtype::of<float>()) || rc::Shape(a.shape(), a.shape() + a.ndim()) != p.shape()) {
        rc::Tensor t = borrow_array(arrays[i], names_[i]);
        RC_CHECK(t.shape() == p.shape(), names_[i], "expected shape ", rc::shape_str(p.shape()), ", got ", rc::shape_str(t.shape()));
        rnn_.replace_parameter(names_[i], rc::Var(t, requires_grad[i]));
        b = Bound{ptr, versions[i]};
      } else if (versions[i] != b.version) {
        p.value().data();  // bumps the storage version: cached panels of the old values miss
        b.version = versions[i];
      }
      rnn_.parameter(names_[i]).set_requires_grad(requires_grad[i]);
    }
  }

  Forward forward_array(const py::object& x, const py::object& lengths, const py::object& h0, const py::object& c0,
                        bool requires_grad, bool x_grad, bool h0_grad, bool c0_grad, bool training) {
    return forward(borrow_array(x, "input"), lengths, h0, c0, requires_grad, x_grad, h0_grad, c0_grad, training);
  }
  Forward forward(rc::Tensor x, const py::object& lengths, const py::object& h0, const py::object& c0, bool requires_grad,
                  bool x_grad, bool h0_grad, bool c0_grad, bool training) {
    Forward f;
    f.grad_mutex = &grad_mutex_;
    f.directions = rnn_.options().directions();
    f.x = rc::Var(std::move(x), requires_grad && x_grad);
    std::vector<int64_t> lens;
    if (!lengths.is_none()) lens = lengths.cast<std::vector<int64_t>>();
    rc::RNNState init;
    if (auto h = opt_array(h0, "h0")) init.h = f.h0 = split_states(*h, "h0", requires_grad && h0_grad, false);
    if (auto c = opt_array(c0, "c0")) init.c = f.c0 = split_states(*c, "c0", requires_grad && c0_grad, true);
    if (requires_grad)  // backward's parameter list (no tape, no backward: not needed)
      for (const auto& [n, p] : rnn_.named_parameters()) f.params.emplace_back(n, p);
    rnn_.train(training);
    f.recorded = requires_grad;
    {
      py::gil_scoped_release nogil;
      std::optional<rc::NoGradGuard> guard;
      if (!requires_grad) guard.emplace();
      f.out = rnn_.forward(f.x, lens, init);
    }
    return f;
  }

  // Inference without a tape in one call: (output, h_n, c_n or None); what recurrent.torch runs under no_grad.
  py::tuple infer(const py::object& x, const py::object& lengths, const py::object& h0, const py::object& c0) {
    Forward f = forward(borrow_array(x, "input"), lengths, h0, c0, false, false, false, false, false);
    return py::make_tuple(f.output(), f.h_n(), f.c_n());
  }
  // The same on a torch tensor's memory: recurrent.torch passes x.data_ptr() and x.shape of a contiguous
  // CPU float32 tensor (it checks that) and the tensor itself, kept alive while the engine reads it.
  // (x.numpy() would cost more than the rest of the call's argument handling at B = 1, T = 1.)
  py::tuple infer_at(uintptr_t ptr, const std::vector<int64_t>& shape, const py::object& keep, const py::object& lengths,
                     const py::object& h0, const py::object& c0) {
    Forward f = forward(borrow_ptr(ptr, shape, keep), lengths, h0, c0, false, false, false, false, false);
    return py::make_tuple(f.output(), f.h_n(), f.c_n());
  }

  // What torch_fast.cpp runs: inference without a tape on a borrowed x, the results as the engine's tensors.
  // (forward()'s work without its Forward record: no lengths, states or tape.)
  InferOut infer_tensors(rc::Tensor x) {
    rc::Var xv(std::move(x), false);  // released after the GIL is back (a borrowed x's owner is a Python object)
    rnn_.train(false);
    InferOut o;
    {
      py::gil_scoped_release nogil;
      rc::NoGradGuard guard;
      rc::RNNOutput out = rnn_.forward(xv);
      o.output = out.output.value();
      o.h_n = Forward::stacked(out.final_state.h);
      if (std::all_of(out.final_state.c.begin(), out.final_state.c.end(), [](const rc::Var& c) { return c.defined(); }))
        o.c_n = Forward::stacked(out.final_state.c);
    }
    return o;
  }

  // Benchmark anchor (scripts/bench/python_overhead.py): CPU time per call, in µs, of `calls` inference
  // calls of the engine itself on x (no Python between calls: what a C++ caller pays).
  // touch_bytes > 0: between calls the loop also reads that many bytes of another buffer (what any caller's
  // own work between calls does to the caches; python_overhead.py shows what it costs the engine).
  double time_infer(const py::object& x, int64_t calls, int64_t touch_bytes) {
    RC_CHECK(calls >= 1, "calls", "expected at least 1, got ", calls);
    RC_CHECK(touch_bytes >= 0, "touch_bytes", "expected at least 0, got ", touch_bytes);
    rc::Var xv(borrow_array(x, "input"), false);
    rnn_.train(false);
    std::vector<int64_t> other(static_cast<size_t>(touch_bytes / 8), 1);
    volatile int64_t sink = 0;
    py::gil_scoped_release nogil;
    rc::NoGradGuard guard;
    timespec t0{}, t1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (int64_t i = 0; i < calls; ++i) {
      rnn_.forward(xv);
      int64_t s = 0;
      for (size_t k = 0; k < other.size(); k += 8) s += other[k];  // one read per 64-byte line
      sink = sink + s;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    if (!other.empty()) {  // less the reads themselves, timed alone
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
      for (int64_t i = 0; i < calls; ++i) {
        int64_t s = 0;
        for (size_t k = 0; k < other.size(); k += 8) s += other[k];
        sink = sink + s;
      }
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
      ns -= (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    }
    return ns / 1e3 / static_cast<double>(calls);
  }
  std::pair<int64_t, int64_t> cache_stats() const {
    const rc::PanelCacheStats s = rnn_.panel_cache_stats();
    return {s.hits, s.misses};
  }

  int64_t num_layers() const { return static_cast<int64_t>(rnn_.options().layers.size()); }
  int directions() const { return rnn_.options().directions(); }
  std::string describe() const {
    const rc::RNNOptions& o = rnn_.options();
    std::string s = "RNN(input_size=" + std::to_string(o.input_size) + ", layers=[";
    for (size_t l = 0; l < o.layers.size(); ++l)
      s += (l ? ", " : "") + std::string(rc::cell_name(o.layers[l].cell)) + " " + std::to_string(o.layers[l].hidden) +
           (o.layers[l].proj ? "/" + std::to_string(o.layers[l].proj) : "");
    return s + "], bidirectional=" + (o.bidirectional ? "True" : "False") + ", batch_first=" + (o.batch_first ? "True" : "False") + ")";
  }

 private:
  struct Bound {
    const void* ptr = nullptr;  // null: the model owns this parameter
    int64_t version = -1;
  };
  rc::RNN rnn_;
  std::vector<std::string> names_;
  std::vector<Bound> bound_;
  std::mutex grad_mutex_;

  static rc::Rng& rng(uint64_t seed) {
    thread_local rc::Rng r;
    r = rc::Rng(seed);
    return r;
  }
  static rc::RNNOptions make(const py::object& cell, int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias,
                             bool batch_first, bool bidirectional, int64_t proj_size, const std::string& merge) {
    RC_CHECK(num_layers >= 1, "num_layers", "expected at least 1, got ", num_layers);
    rc::RNNOptions o;
    o.input_size = input_size;
    for (const std::string& c : cell_list(cell, num_layers)) {
      rc::LayerSpec s;
      s.cell = rc::parse_cell(c);
      s.hidden = hidden_size;
      s.proj = proj_size;
      o.layers.push_back(s);
    }
    o.bias = bias;
    o.batch_first = batch_first;
    o.bidirectional = bidirectional;
    RC_CHECK(merge == "concat" || merge == "sum", "merge", "expected 'concat' or 'sum', got '", merge, "'");
    o.merge = merge == "sum" ? rc::BidirMerge::sum : rc::BidirMerge::concat;
    o.validate();
    return o;
  }
  size_t index(const std::string& name) const {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return i;
    throw rc::Error(name, "no such parameter");
  }
  bool owned(const std::string& name) const { return bound_[index(name)].ptr == nullptr; }

  // PyTorch's stacked states [L*D, B, R] as per-layer views [D, B, R_l].
  std::vector<rc::Var> split_states(const rc::Tensor& t, const char* name, bool grad, bool cell_state) const {
    const rc::RNNOptions& o = rnn_.options();
    const int64_t D = o.directions(), L = static_cast<int64_t>(o.layers.size());
    RC_CHECK(t.dim() == 3 && t.size(0) == L * D, name, "expected [num_layers*directions = ", L * D,
             ", batch, size], got ", rc::shape_str(t.shape()));
    std::vector<rc::Var> v;
    for (int64_t l = 0; l < L; ++l) {
      const rc::LayerSpec& s = o.layers[static_cast<size_t>(l)];
      if (cell_state && !rc::is_lstm(s.cell)) {
        v.emplace_back();
        continue;
      }
      v.emplace_back(t.slice(0, l * D, (l + 1) * D), grad);
    }
    return v;
  }
};

PyRNN* engine_of(const py::handle& obj) { return &obj.cast<PyRNN&>(); }
InferOut infer(PyRNN& e, rc::Tensor x) { return e.infer_tensors(std::move(x)); }

}  // namespace recurrent_py

using recurrent_py::PyRNN;

void bind_lm(py::module_& m);  // lm.cpp: recurrent.LanguageModel
void bind_io(py::module_& m);  // io.cpp: recurrent.load_safetensors / save_safetensors
void bind_vocab(py::module_& m);  // vocab.cpp: recurrent.Vocab
void bind_predict(py::module_& m);  // predict.cpp: recurrent.predict
void bind_torch_fast(py::module_& m);  // torch_fast.cpp: recurrent.torch's one-call inference

PYBIND11_MODULE(_recurrent, m) {
  m.doc() = "recurrent's engine: recurrent layer stacks over NumPy arrays (see recurrent.RNN, recurrent.torch).";
  rc::set_min_parallel_work(rc::kDefaultMinParallelWork);  // small calls on one thread (core/threads.h)
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rc::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Forward>(m, "Forward", "The result of RNN.forward: outputs and, when recorded, the tape for backward.")
      .def_property_readonly("output", &Forward::output, "[T, B, D*R] ([B, T, D*R] with batch_first); zero past each length")
      .def_property_readonly("h_n", &Forward::h_n, "[L*D, B, R]: each sequence's last state, PyTorch's layout")
      .def_property_readonly("c_n", &Forward::c_n, "[L*D, B, H] for LSTM stacks, else None")
      .def("backward", &Forward::backward, py::arg("grad_output") = py::none(), py::arg("grad_h_n") = py::none(),
           py::arg("grad_c_n") = py::none(),
           "BPTT: returns (dx, dh0, dc0, {parameter name: gradient}); None where no gradient was asked for.");

  py::class_<PyRNN>(m, "RNN", R"doc(A stack of recurrent layers (recurrent::RNN) on NumPy float32 arrays.

cell: one of recurrent.cell_names() ('lstm', 'lstm_peephole', 'gru', 'gru_cho', 'gru_simple', 'rnn_tanh',
'rnn_relu'), or a list with one name per layer (mixed stacks). Parameters follow PyTorch's names
(weight_ih_l0, weight_hh_l0_reverse, weight_hr_l1, weight_ch_l0 for peepholes) and PyTorch's default
initialisation U(-1/sqrt(H), 1/sqrt(H)) from `seed`. Inputs must be float32 and C-contiguous (no hidden copies).)doc")
      .def(py::init<const py::object&, int64_t, int64_t, int64_t, bool, bool, bool, int64_t, uint64_t, const std::string&>(),
           py::arg("cell"), py::arg("input_size"), py::arg("hidden_size"), py::arg("num_layers") = 1, py::arg("bias") = true,
           py::arg("batch_first") = false, py::arg("bidirectional") = false, py::arg("proj_size") = 0, py::arg("seed") = 0,
           py::arg("merge") = "concat")
      .def_property_readonly("parameter_names", &PyRNN::names)
      .def_property_readonly("num_layers", &PyRNN::num_layers)
      .def_property_readonly("directions", &PyRNN::directions)
      .def("parameters", &PyRNN::parameters, "{name: read-only array view of the weights}")
      .def("set_parameter", &PyRNN::set_parameter, py::arg("name"), py::arg("value"), "copy `value` into a parameter")
      .def("buffers", &PyRNN::buffers, "{name: copy} of the state saved with the model that is not trained (lstm_bn's "
           "running statistics; empty for the other cells)")
      .def("set_buffer", &PyRNN::set_buffer, py::arg("name"), py::arg("value"),
           "replace a buffer (its first dimension, the steps, may differ; the rest must match)")
      .def("bind_parameters", &PyRNN::bind_parameters, py::arg("arrays"), py::arg("versions"), py::arg("requires_grad"),
           "use outside float32 arrays as the weights (no copy); versions: the owner's write counters")
      .def("forward", &PyRNN::forward_array, py::arg("x"), py::arg("lengths") = py::none(), py::arg("h0") = py::none(),
           py::arg("c0") = py::none(), py::arg("requires_grad") = false, py::arg("x_grad") = true, py::arg("h0_grad") = true,
           py::arg("c0_grad") = true, py::arg("training") = true,
           "x [T, B, I] ([B, T, I] with batch_first); lengths: B values in [1, T] or None; h0/c0: [L*D, B, R|H] or None. "
           "requires_grad records the tape for Forward.backward.")
      .def("infer", &PyRNN::infer, py::arg("x"), py::arg("lengths") = py::none(), py::arg("h0") = py::none(),
           py::arg("c0") = py::none(), "forward without a tape: (output, h_n, c_n or None)")
      .def("_infer_at", &PyRNN::infer_at, py::arg("ptr"), py::arg("shape"), py::arg("keep"), py::arg("lengths"), py::arg("h0"),
           py::arg("c0"), "infer on a contiguous float32 buffer at ptr (recurrent.torch: a tensor's data_ptr(), kept alive by keep)")
      .def("panel_cache_stats", &PyRNN::cache_stats,
           "(hits, misses) of the packed-weight cache since construction (docs/engine.md)")
      .def("_time_infer", &PyRNN::time_infer, py::arg("x"), py::arg("calls"), py::arg("touch_bytes") = 0,
           "benchmark anchor: CPU µs per inference call of the engine alone on x, `calls` calls from C++ "
           "(reading touch_bytes of another buffer between calls)")
      .def("__repr__", &PyRNN::describe);

  bind_vocab(m);  // before bind_lm: its _save_lm takes a Vocab
  bind_lm(m);
  bind_io(m);
  bind_predict(m);
  bind_torch_fast(m);
  m.def("cell_names", &rc::cell_names, "the cell names RNN accepts");
  m.def("num_threads", &rc::num_threads, "threads the engine uses");
  m.def("set_num_threads", &rc::set_num_threads, py::arg("n"), "threads the engine uses (n >= 1)");
  m.def("set_flush_denormal", &rc::set_flush_denormal, py::arg("mode"),
        "flush denormal floats to zero on this thread and the OpenMP team it starts (as torch.set_flush_denormal; "
        "call it from the thread that runs the engine, after set_num_threads); False where the CPU has no such mode");
}
