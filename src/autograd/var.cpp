// The tape: Var handles, make_op, topological backward. See include/recurrent/autograd/var.h.
#include "recurrent/autograd/var.h"

#include <algorithm>
#include <unordered_set>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
thread_local bool t_grad_enabled = true;
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = prev_; }

namespace {

// Nodes are freed through this deleter. With the default one, dropping the last Var of an
// undifferentiated graph frees node -> inputs -> node ... recursively, one stack frame per node (a
// 200k-node chain overflowed the 8 MB stack). Here a node whose last owner we are hands its inputs
// to an explicit stack before it is deleted, so every node dies with an empty input list.
void delete_node(Node* node) {
  std::vector<std::shared_ptr<Node>> pending = std::move(node->inputs);
  delete node;
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& in : n->inputs) pending.push_back(std::move(in));
      n->inputs.clear();
    }
  }  // each n is released here with no inputs left: no recursion
}

std::shared_ptr<Node> new_node() { return std::shared_ptr<Node>(new Node(), delete_node); }

}  // namespace

Var::Var(Tensor value, bool requires_grad) : node_(new_node()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

Tensor& grad_buffer(Node& n) {
  if (!n.grad.defined()) n.grad = Tensor(n.value.shape());
  n.grad_rows_valid = false;
  return n.grad;
}

namespace {
// The support holds only for the storage and version it was recorded with (var.h).
bool rows_current(const Node& n) {
  return n.grad_rows_valid && n.grad.defined() && n.grad.dim() == 2 && n.grad.is_contiguous() &&
         n.grad.storage_id() == n.grad_rows_id && n.grad.version() == n.grad_rows_version;
}
void record_rows(Node& n) {
  n.grad_rows_valid = true;
  n.grad_rows_id = n.grad.storage_id(), n.grad_rows_version = n.grad.version();
}
}  // namespace

float* grad_buffer_rows(Node& n, const std::vector<int64_t>& rows) {
  if (!n.grad.defined()) {
    n.grad = Tensor(n.value.shape());  // zeros: an empty support
    n.grad_rows.clear();
    record_rows(n);
  }
  const bool keep = rows_current(n);
  float* d = n.grad.data();  // bumps the version: recorded again below when the support is kept
  if (!keep) {
    n.grad_rows_valid = false;
    return d;
  }
  n.grad_rows.insert(n.grad_rows.end(), rows.begin(), rows.end());
  const auto R = static_cast<size_t>(n.grad.size(0));
  if (n.grad_rows.size() > R) {  // many backwards without a zero_grad: compact, or give up past half
    record_rows(n);
    (void)grad_row_support(n);
    if (2 * n.grad_rows.size() > R) {
      n.grad_rows_valid = false;
      return d;
    }
  }
  record_rows(n);
  return d;
}

void set_grad_row_support(Node& n, std::vector<int64_t> rows) {
  n.grad_rows = std::move(rows);
  record_rows(n);
}

const std::vector<int64_t>* grad_row_support(Node& n) {
  if (!rows_current(n)) return nullptr;
  std::vector<int64_t>& r = n.grad_rows;
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return &r;
}

void for_each_grad_span(Node& n, const std::function<void(float*, int64_t)>& fn) {
  if (!n.grad.defined()) return;
  RC_CHECK(n.grad.is_contiguous(), n.op, "the gradient is not contiguous");
  const std::vector<int64_t>* rows = grad_row_support(n);
  float* g = n.grad.data();
  if (rows == nullptr) {
    fn(g, n.grad.numel());
    return;
  }
  const int64_t C = n.grad.size(1);
  for (size_t i = 0; i < rows->size();) {
    size_t j = i + 1;  // [i, j): a run of consecutive rows
    while (j < rows->size() && (*rows)[j] == (*rows)[j - 1] + 1) ++j;
    fn(g + (*rows)[i] * C, static_cast<int64_t>(j - i) * C);
    i = j;
  }
  record_rows(n);  // fn kept zeros zero
}

Tensor& Var::grad() { return grad_buffer(*node_); }

void Var::zero_grad() {
  Node& n = *node_;
  if (!n.grad.defined()) return;
  if (grad_row_support(n) != nullptr) for_each_grad_span(n, [](float* g, int64_t c) { std::fill_n(g, c, 0.0f); });
  else n.grad.zero_();
  n.grad_rows.clear();  // all zero: an empty support
  record_rows(n);
}

void accumulate_grad(Node& n, const Tensor& g) {
  RC_CHECK(g.shape() == n.value.shape(), n.op, "gradient of shape ", shape_str(g.shape()), " for a value of shape ",
           shape_str(n.value.shape()));
  n.grad_rows_valid = false;
  if (!n.grad.defined()) {
    n.grad = g.clone();
    return;
  }
  Tensor src = g.contiguous();
  float* d = n.grad.data();
  const float* s = src.data();
  for (int64_t i = 0, m = src.numel(); i < m; ++i) d[i] += s[i];
}

Var make_op(const char* op, Tensor value, const std::vector<Var>& inputs, std::function<void(Node& out)> backward) {
  auto node = new_node();
  node->value = std::move(value);
  node->op = op;
  if (t_grad_enabled) {
    bool any = false;
    for (const Var& v : inputs) any = any || v.requires_grad();
    if (any) {
      node->requires_grad = true;
      node->inputs.reserve(inputs.size());
      for (const Var& v : inputs) node->inputs.push_back(v.requires_grad() ? v.node_ptr() : nullptr);
      node->backward = std::move(backward);
    }
  }
  return Var(std::move(node));
}

void Var::backward() {
  RC_CHECK(node_->value.numel() == 1, "backward", "needs a scalar (one element) value, got shape ",
           shape_str(node_->value.shape()), "; pass a seed gradient instead");
  backward(Tensor::ones(node_->value.shape()));
}

void Var::backward(const Tensor& seed) {
  RC_CHECK(node_->requires_grad, "backward", "the value does not depend on anything that requires grad");
  // Iterative post-order DFS: order holds each node after all of its inputs. It owns the nodes
  // (shared_ptr): releasing a node's inputs below must not free producers still to be visited.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{node_, 0}};
  seen.insert(node_.get());
  while (!stack.empty()) {
    auto& [n, i] = stack.back();
    if (i < n->inputs.size()) {
      const std::shared_ptr<Node>& in = n->inputs[i++];
      if (in && in->requires_grad && !seen.count(in.get())) {
        seen.insert(in.get());
        stack.push_back({in, 0});
      }
    } else {
      order.push_back(std::move(n));
      stack.pop_back();
    }
  }
  accumulate_grad(*node_, seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = it->get();
    if (n->backward && n->grad.defined()) n->backward(*n);
    if (n->backward) {  // release the graph: saved tensors and inputs of intermediate nodes
      n->backward = nullptr;
      n->inputs.clear();
      if (n != node_.get()) n->grad = Tensor();  // intermediate grads are not kept
    }
  }
}

}  // namespace recurrent
