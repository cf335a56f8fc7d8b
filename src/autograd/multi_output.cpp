// Multi-output ops: see include/recurrent/autograd/multi_output.h.
#include "recurrent/autograd/multi_output.h"

#include <memory>

namespace recurrent {

std::vector<Var> make_multi_op(const char* op, std::vector<Tensor> outputs, const std::vector<Var>& inputs,
                               MultiBackward backward) {
  // Gradients of each output, gathered before the hub's backward runs (it runs after every
  // output node in reverse topological order, since they all consume it).
  auto grads = std::make_shared<std::vector<Tensor>>(outputs.size());
  std::vector<Tensor> shapes_src = outputs;
  Var hub = make_op(op, Tensor(Shape{0}), inputs, [grads, shapes_src, backward](Node& hub_node) {
    for (size_t k = 0; k < grads->size(); ++k)
      if (!(*grads)[k].defined()) (*grads)[k] = Tensor(shapes_src[k].shape());
    backward(*grads, hub_node);
    grads->clear();
  });
  std::vector<Var> outs;
  outs.reserve(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    outs.push_back(make_op(op, std::move(outputs[k]), {hub}, [grads, k](Node& out) {
      Node& h = *out.inputs[0];
      grad_buffer(h);  // marks the hub as reached (its own value has no elements)
      Tensor& g = (*grads)[k];
      if (!g.defined()) {
        g = out.grad.clone();
      } else {
        float* d = g.data();
        const float* s = out.grad.data();
        for (int64_t i = 0, n = g.numel(); i < n; ++i) d[i] += s[i];
      }
    }));
  }
  return outs;
}

}  // namespace recurrent
