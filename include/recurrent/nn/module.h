// recurrent/nn/module.h — modules with named parameters (PyTorch-style hierarchical names).
//
// A Module owns parameters (leaf Vars with requires_grad) and child modules, each registered under
// a name; named_parameters() yields "encoder.layers.0.weight_ih_l0"-style names in registration
// order. train()/eval() switch the mode recursively (dropout reads it).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/autograd/var.h"

namespace recurrent {

class Module {
 public:
  virtual ~Module() = default;

  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<Var> parameters() const;
  Var parameter(const std::string& name) const;  // throws Error naming the missing parameter
  bool has_parameter(const std::string& name) const;
  int64_t num_parameters() const;                // total element count

  // Point this module's own parameter `name` at another Var of the same shape (weight tying,
  // or a test that differentiates with respect to given tensors).
  void replace_parameter(const std::string& name, Var v);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

 protected:
  Var register_parameter(std::string name, Tensor init);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    children_.emplace_back(std::move(name), m);
    return m;
  }

 private:
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;
  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace recurrent
