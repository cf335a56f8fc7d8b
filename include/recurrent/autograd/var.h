// recurrent/autograd/var.h — reverse-mode automatic differentiation on a dynamic tape.
//
// A Var is a handle (shared pointer) to a Node: a value tensor, an optional gradient of the same
// shape, and — for op results — the input nodes and a backward function. Ops (one file per family
// under src/autograd/, forward and backward side by side) build new nodes with make_op().
// Var::backward() orders the graph topologically and runs each node's backward once, in reverse.
//
// Conventions (shared/design.md):
//  * backward ADDS into input gradients (accumulate_grad); zeroing is a separate, explicit step;
//  * a backward closure captures only what it needs (tensors, shapes), never its own output Var
//    (that would be a reference cycle): it receives the output node as its argument;
//  * after backward() the graph's closures are released (like PyTorch's retain_graph=False).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/core/tensor.h"

namespace recurrent {

struct Node {
  Tensor value;
  Tensor grad;  // undefined until something is accumulated into it
  bool requires_grad = false;
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> inputs;
  std::function<void(Node& out)> backward;  // reads out.grad, adds into out.inputs[i]->grad
  // Row support of grad (a [R, C] table whose gradient only row scatters have written, e.g. an
  // embedding): every row of grad not in grad_rows is zero. It holds while grad is the storage, at the
  // version, recorded with it (grad_rows_id, grad_rows_version: any other non-const access of grad bumps
  // the version, core/tensor.h) — set by zero_grad and set_grad_row_support, kept by grad_buffer_rows
  // and for_each_grad_span; grad_buffer and accumulate_grad drop it.
  bool grad_rows_valid = false;
  std::vector<int64_t> grad_rows;  // repeats allowed; grad_row_support() sorts and de-duplicates
  uint64_t grad_rows_id = 0, grad_rows_version = 0;
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t size(int64_t d) const { return node_->value.size(d); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  void set_requires_grad(bool r) { node_->requires_grad = r; }

  bool has_grad() const { return node_->grad.defined(); }
  Tensor& grad();        // the gradient, allocated as zeros on first use (write access: forgets its row support)
  void zero_grad();      // fills an existing gradient with zeros (only its supported rows when they are known)

  void backward();                       // value must hold one element; seeds d(self)/d(self) = 1
  void backward(const Tensor& seed);     // seeds grad with `seed` (same shape as value)

  Var detach() const { return Var(node_->value, false); }  // shares the value, cuts the tape
  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// Record an op. The backward closure is kept only if grad mode is on and some input requires grad.
Var make_op(const char* op, Tensor value, const std::vector<Var>& inputs, std::function<void(Node& out)> backward);

// grad += g (shapes must match). Allocates the gradient on first use.
void accumulate_grad(Node& n, const Tensor& g);
// The gradient buffer of n (zeros on first use), for backward code that adds in place (e.g. GEMM beta=1).
Tensor& grad_buffer(Node& n);
// Row-sparse gradients (Node::grad_rows). A pointer from grad_buffer / grad_buffer_rows may be written
// until the backward that took it returns, not later (a write after a reader looked is not seen).
//
// The gradient of n [R, C] for a backward that adds into its rows `rows` only (a row scatter): the row
// support is kept (or started, when the gradient is new) with these rows added.
float* grad_buffer_rows(Node& n, const std::vector<int64_t>& rows);
// Declares that every row of n's gradient outside `rows` is zero (after the caller wrote it).
void set_grad_row_support(Node& n, std::vector<int64_t> rows);
// The sorted distinct rows that may be non-zero in n's gradient, or nullptr when that is not known.
// Sorts n's list in place: not to be called on one node from two threads at once.
const std::vector<int64_t>* grad_row_support(Node& n);
// Calls fn(data, count) for each part of n's existing (contiguous) gradient that may be non-zero — the
// runs of consecutive supported rows in row order, or the whole gradient — keeping the row support;
// fn may change values but must keep zeros zero (scaling, clamping, reading).
void for_each_grad_span(Node& n, const std::function<void(float* data, int64_t count)>& fn);
// True when input i of an op wants a gradient.
inline bool needs_grad(const Node& out, size_t i) { return out.inputs[i] && out.inputs[i]->requires_grad; }

// Grad mode: while a NoGradGuard lives (per thread), ops record nothing (inference, optimizer steps).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace recurrent
