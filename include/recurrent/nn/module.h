// recurrent/nn/module.h — modules with named parameters (PyTorch-style hierarchical names).
//
// A Module owns parameters (leaf Vars with requires_grad) and child modules, each registered under
// a name; named_parameters() yields "encoder.layers.0.weight_ih_l0"-style names in PyTorch's order:
// a module's own parameters in registration order, then each child's, depth first. A parameter
// reachable under several names (weight tying through replace_parameter, a child registered twice)
// is listed once, under its first name, as PyTorch does by default — so an optimizer steps it once
// and a gradient norm counts it once. train()/eval() switch the mode recursively (dropout reads it).
// ModuleList numbers its children "0", "1", ... like torch.nn.ModuleList.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"

namespace recurrent {

class Module {
 public:
  virtual ~Module() = default;

  // remove_duplicate = false lists a shared parameter under every name (e.g. to save a state dict
  // with both names of a tied weight, as PyTorch's state_dict does).
  std::vector<std::pair<std::string, Var>> named_parameters(bool remove_duplicate = true) const;
  std::vector<Var> parameters() const;
  Var parameter(const std::string& name) const;  // throws Error naming the missing parameter
  bool has_parameter(const std::string& name) const;
  const Var* find_parameter(std::string_view name) const;  // null when missing; no allocation
  int64_t num_parameters() const;                // total element count

  // Point this module's own parameter `name` at another Var of the same shape (weight tying,
  // or a test that differentiates with respect to given tensors).
  void replace_parameter(const std::string& name, Var v);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // fills every existing parameter gradient with zeros

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }

  // Buffers (torch's register_buffer): state saved and loaded with the model that is not trained (no
  // gradient, not in named_parameters, so no optimizer steps it), e.g. lstm_bn's running statistics. Named
  // and ordered as parameters ("rnn.bn_running_mean_ih_l0"); the tensors are shared, not copied.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  const Tensor* find_buffer(std::string_view name) const;  // null when missing
  // Point buffer `name` (a dotted path, as named_buffers gives it) at t, of any shape (a buffer may grow:
  // lstm_bn's per-step statistics; its owner checks the shape when it reads it). Throws Error when missing.
  void set_buffer(std::string_view name, Tensor t);
  // What a saved or given buffer may be in place of `current` (a checkpoint's, a weights file's, Python's): the same
  // rank and every dimension but the first (the steps, which grow) equal, the first at least 1.
  static bool buffer_fits(const Tensor& current, const Tensor& given);

 protected:
  // Names must be non-empty and unique among this module's parameters, buffers and children (Error otherwise).
  Var register_parameter(std::string name, Tensor init);
  void register_buffer(std::string name, Tensor init);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    check_new_name(name, m != nullptr);
    children_.emplace_back(std::move(name), m);
    return m;
  }

 private:
  void check_new_name(const std::string& name, bool non_null) const;
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;
  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// torch.nn.ModuleList: children registered as "0", "1", ... in push order, so a stack's parameters
// read "layers.0.weight", "layers.1.weight".
class ModuleList : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return register_module(std::to_string(size()), std::move(m));
  }
  size_t size() const { return named_children().size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;  // throws Error when i >= size()
};

}  // namespace recurrent
