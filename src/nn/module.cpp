#include "recurrent/nn/module.h"

#include <unordered_set>

#include "recurrent/core/error.h"

namespace recurrent {

void Module::check_new_name(const std::string& name, bool non_null) const {
  RC_CHECK(!name.empty(), "Module", "a parameter or child module needs a non-empty name");
  RC_CHECK(non_null, "Module", "child module '", name, "' is null");
  for (auto& [n, v] : params_) RC_CHECK(n != name, "Module", "'", name, "' is already a parameter of this module");
  for (auto& [n, m] : children_) RC_CHECK(n != name, "Module", "'", name, "' is already a child module of this module");
  for (auto& [n, b] : buffers_) RC_CHECK(n != name, "Module", "'", name, "' is already a buffer of this module");
}

void Module::register_buffer(std::string name, Tensor init) {
  check_new_name(name, true);
  buffers_.emplace_back(std::move(name), std::move(init));
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out(buffers_.begin(), buffers_.end());
  for (auto& [n, m] : children_)
    for (auto& [bn, t] : m->named_buffers()) out.emplace_back(n + "." + bn, t);
  return out;
}

// The buffer slot of a dotted name, searched as find_parameter does (own buffers, then children by prefix).
static const Tensor* module_buffer_slot(const Module& m, std::string_view name,
                                        const std::vector<std::pair<std::string, Tensor>>& own) {
  for (auto& [n, t] : own)
    if (n == name) return &t;
  for (auto& [n, c] : m.named_children())
    if (name.size() > n.size() && name[n.size()] == '.' && name.compare(0, n.size(), n) == 0)
      if (const Tensor* t = c->find_buffer(name.substr(n.size() + 1))) return t;
  return nullptr;
}

const Tensor* Module::find_buffer(std::string_view name) const { return module_buffer_slot(*this, name, buffers_); }

void Module::set_buffer(std::string_view name, Tensor t) {
  const Tensor* slot = find_buffer(name);
  if (!slot) throw Error(std::string(name), "no such buffer in the model");
  *const_cast<Tensor*>(slot) = std::move(t);  // the slot belongs to this module tree, which is not const here
}

Var Module::register_parameter(std::string name, Tensor init) {
  check_new_name(name, true);
  Var v(std::move(init), true);
  params_.emplace_back(std::move(name), v);
  return v;
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const {
  for (auto& [n, v] : params_) out.emplace_back(prefix + n, v);
  for (auto& [n, m] : children_) m->collect(prefix + n + ".", out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters(bool remove_duplicate) const {
  std::vector<std::pair<std::string, Var>> all;
  collect("", all);
  if (!remove_duplicate) return all;
  std::vector<std::pair<std::string, Var>> out;
  std::unordered_set<const Node*> seen;
  for (auto& nv : all)
    if (seen.insert(nv.second.node()).second) out.push_back(std::move(nv));
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [n, v] : named_parameters()) out.push_back(v);
  return out;
}

// Lookups by name walk the tree without building named_parameters(false)'s list (no strings, no
// allocation) and give its first match: the RNN looks its weights up on every call (several per layer
// and direction).
const Var* Module::find_parameter(std::string_view name) const {
  for (auto& [n, v] : params_)
    if (n == name) return &v;
  for (auto& [n, m] : children_)
    if (name.size() > n.size() && name[n.size()] == '.' && name.compare(0, n.size(), n) == 0)
      if (const Var* v = m->find_parameter(name.substr(n.size() + 1))) return v;
  return nullptr;
}

bool Module::has_parameter(const std::string& name) const { return find_parameter(name) != nullptr; }

Var Module::parameter(const std::string& name) const {
  if (const Var* v = find_parameter(name)) return *v;
  throw Error(name, "no such parameter in the model");
}

int64_t Module::num_parameters() const {
  int64_t total = 0;
  for (auto& [n, v] : named_parameters()) total += v.value().numel();
  return total;
}

void Module::replace_parameter(const std::string& name, Var v) {
  for (auto& [n, p] : params_) {
    if (n != name) continue;
    RC_CHECK(v.defined() && v.shape() == p.shape(), name, "expected shape ", shape_str(p.shape()), ", got ",
             v.defined() ? shape_str(v.shape()) : "none");
    p = std::move(v);
    return;
  }
  throw Error(name, "no such parameter in this module");
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

const std::shared_ptr<Module>& ModuleList::operator[](size_t i) const {
  RC_CHECK(i < size(), "ModuleList", "index ", i, " out of range for ", size(), " modules");
  return named_children()[i].second;
}

void Module::zero_grad() {
  for (auto& [n, v] : named_parameters()) v.zero_grad();
}

bool Module::buffer_fits(const Tensor& current, const Tensor& given) {
  if (given.dim() != current.dim() || given.dim() < 1 || given.size(0) < 1) return false;
  for (int64_t k = 1; k < given.dim(); ++k)
    if (given.size(k) != current.size(k)) return false;
  return true;
}

}  // namespace recurrent
