// recurrent/autograd/multi_output.h — ops with several outputs (e.g. a recurrent layer returns
// output, h_n and c_n) on the single-output tape.
//
// A hidden hub node takes the op's inputs; each output is a node whose only input is the hub.
// Outputs' gradients are gathered at the hub, which then calls `backward` once with one gradient
// per output (zeros for outputs nothing depended on).
#pragma once

#include <functional>
#include <vector>

#include "recurrent/autograd/var.h"

namespace recurrent {

using MultiBackward = std::function<void(const std::vector<Tensor>& out_grads, Node& hub)>;

// hub.inputs[i] is inputs[i]'s node (null where no gradient is needed: test with needs_grad(hub, i)).
std::vector<Var> make_multi_op(const char* op, std::vector<Tensor> outputs, const std::vector<Var>& inputs,
                               MultiBackward backward);

}  // namespace recurrent
