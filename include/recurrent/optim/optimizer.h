// recurrent/optim/optimizer.h — the optimizer base: parameters, per-parameter state, step/zero_grad,
// state export/import as named tensors.
//
// Contract
//  * An optimizer holds named parameters (leaf Vars, contiguous values). step() updates, under a
//    NoGradGuard, every parameter that HAS a gradient; parameters without one are skipped and their
//    state (step counter, buffers) is left untouched — PyTorch 1.13's `if p.grad is None: continue`.
//  * Per-parameter state is created lazily at the first step that sees a gradient: a step counter
//    and the buffers the algorithm needs (e.g. Adam: "exp_avg", "exp_avg_sq"), with PyTorch's
//    state-dict names. Buffers are float32, contiguous, same shape as the parameter.
//  * state() exports "step.<param>" (scalar tensor, integral, exact below 2^24 — the same float32
//    counter PyTorch keeps) and "<buffer>.<param>" for every parameter that has state, in parameter
//    order. load_state() is strict: an unknown name, a missing buffer or a wrong shape throws Error
//    naming the tensor; parameters absent from the export get fresh (empty) state.
//  * The learning rate is NOT part of state(): it is a double owned by whoever drives it (the
//    schedule, or the checkpoint's metadata). Saving it as float32 would make resumes inexact.
//  * Each algorithm keeps its arithmetic in ONE per-element kernel (src/optim/<name>.cpp) run over
//    contiguous buffers by for_each_chunk(), in float32, in PyTorch's operation order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"
#include "recurrent/core/tensor.h"

namespace recurrent {

using NamedParams = std::vector<std::pair<std::string, Var>>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Names "0", "1", ... for unnamed parameter lists (PyTorch's state-dict indices).
NamedParams index_names(const std::vector<Var>& params);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void step();       // one update of every parameter that has a gradient
  void zero_grad();  // fills existing gradients with zeros (they stay allocated)

  double lr() const { return lr_; }
  void set_lr(double lr);  // finite, >= 0

  virtual const char* kind() const = 0;  // "sgd", "adam", ...
  const NamedParams& params() const { return params_; }
  const std::vector<std::string>& buffer_names() const { return buffer_names_; }
  int64_t step_count(size_t param_index) const;  // steps taken by that parameter (0 = no state yet)

  NamedTensors state() const;               // deep copies; see the contract above
  void load_state(const NamedTensors& st);  // copies in; strict

 protected:
  // buffer_names: the state buffers this configuration needs, in kernel order.
  Optimizer(NamedParams params, double lr, std::vector<std::string> buffer_names);

  // Initial value of buffer k of a fresh state (zeros by default; Adagrad's "sum" differs).
  virtual float initial_value(size_t /*buffer*/) const { return 0.0f; }
  // One parameter's update over n contiguous elements. `step` is the parameter's step count
  // including this step (1 on the first); buf[k] points at buffer k (buffer_names() order).
  virtual void update(int64_t step, float* p, const float* g, float* const* buf, int64_t n) = 0;
  // True when update() leaves an element whose gradient is zero exactly as it is (no momentum, decay or
  // running averages): step() then updates only the rows a row-sparse gradient may have (var.h).
  virtual bool zero_gradient_is_no_op() const { return false; }

  // Runs fn(begin, end) over [0, n) in chunks, in parallel for large n. Elementwise kernels give the
  // same result for any thread count.
  static void for_each_chunk(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  struct Slot {
    int64_t step = 0;         // 0: no state yet
    std::vector<Tensor> buf;  // buffer_names_.size() tensors once step > 0
  };
  void init_slot(size_t i);

  NamedParams params_;
  double lr_;
  std::vector<std::string> buffer_names_;
  std::vector<Slot> slots_;
};

}  // namespace recurrent
