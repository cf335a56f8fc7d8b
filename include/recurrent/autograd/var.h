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
  Tensor& grad();        // the gradient, allocated as zeros on first use
  void zero_grad();      // fills an existing gradient with zeros

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
