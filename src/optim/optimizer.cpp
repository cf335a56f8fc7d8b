// Optimizer base: lazy per-parameter state, the step loop, state export/import.
// See include/recurrent/optim/optimizer.h for the contract.
#include "recurrent/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "recurrent/core/error.h"

namespace recurrent {

NamedParams index_names(const std::vector<Var>& params) {
  NamedParams out;
  out.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) out.emplace_back(std::to_string(i), params[i]);
  return out;
}

Optimizer::Optimizer(NamedParams params, double lr, std::vector<std::string> buffer_names)
    : params_(std::move(params)), lr_(0.0), buffer_names_(std::move(buffer_names)), slots_(params_.size()) {
  set_lr(lr);
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    RC_CHECK(p.defined(), "optimizer", "parameter '", name, "' is an undefined Var");
    RC_CHECK(p.value().is_contiguous(), "optimizer", "parameter '", name, "' must be contiguous");
    RC_CHECK(seen.emplace(name, i).second, "optimizer", "parameter name '", name, "' appears twice");
  }
}

void Optimizer::set_lr(double lr) {
  RC_CHECK(std::isfinite(lr) && lr >= 0.0, "optimizer lr", "expected a finite learning rate >= 0, got ", lr);
  lr_ = lr;
}

int64_t Optimizer::step_count(size_t i) const {
  RC_CHECK(i < slots_.size(), "optimizer", "parameter index ", i, " out of range (", slots_.size(), " parameters)");
  return slots_[i].step;
}

void Optimizer::init_slot(size_t i) {
  Slot& s = slots_[i];
  s.buf.clear();
  for (size_t k = 0; k < buffer_names_.size(); ++k)
    s.buf.push_back(Tensor::full(params_[i].second.value().shape(), initial_value(k)));
}

void Optimizer::step() {
  NoGradGuard no_grad;
  std::vector<float*> bufs(buffer_names_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i].second;
    if (!p.has_grad()) continue;
    Tensor& w = p.value();
    const Tensor& g = p.node()->grad;  // read only (no version bump): its row support stays known
    RC_CHECK(w.is_contiguous() && g.is_contiguous() && g.same_shape(w), "optimizer step",
             "parameter '", params_[i].first, "': value and gradient must be contiguous and of one shape, got ",
             shape_str(w.shape()), " and ", shape_str(g.shape()));
    Slot& s = slots_[i];
    if (s.step == 0) init_slot(i);
    s.step += 1;
    for (size_t k = 0; k < bufs.size(); ++k) bufs[k] = s.buf[k].data();
    if (!zero_gradient_is_no_op() || grad_row_support(*p.node()) == nullptr) {
      update(s.step, w.data(), g.data(), bufs.data(), w.numel());
      continue;
    }
    // Only the runs of rows the gradient may have (an embedding's): the same result, as the rest are no-ops.
    const float* g0 = g.data();
    float* w0 = w.data();
    std::vector<float*> b(bufs.size());
    for_each_grad_span(*p.node(), [&](float* gs, int64_t n) {
      const int64_t at = gs - g0;
      for (size_t k = 0; k < bufs.size(); ++k) b[k] = bufs[k] + at;
      update(s.step, w0 + at, gs, b.data(), n);
    });
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.zero_grad();
}

void Optimizer::for_each_chunk(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  // 16K floats per chunk: large enough to amortise the call, small enough to balance threads.
  constexpr int64_t kChunk = 1 << 14;
  if (n <= kChunk) {
    if (n > 0) fn(0, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk));
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.step == 0) continue;
    const std::string& name = params_[i].first;
    out.emplace_back("step." + name, Tensor::scalar(static_cast<float>(s.step)));
    for (size_t k = 0; k < buffer_names_.size(); ++k) out.emplace_back(buffer_names_[k] + "." + name, s.buf[k].clone());
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& st) {
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [key, t] : st) {
    RC_CHECK(t.defined(), "optimizer state", "tensor '", key, "' is undefined");
    RC_CHECK(given.emplace(key, &t).second, "optimizer state", "tensor '", key, "' appears twice");
  }
  // Validate everything before touching any slot, so a bad checkpoint leaves the optimizer as it was.
  std::vector<Slot> fresh(params_.size());
  size_t used = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    auto it = given.find("step." + name);
    if (it == given.end()) continue;
    ++used;
    const Tensor& t = *it->second;
    RC_CHECK(t.numel() == 1, "optimizer state", "'step.", name, "' must hold one value, got shape ", shape_str(t.shape()));
    const float v = t.item();
    RC_CHECK(v >= 1.0f && v == std::floor(v), "optimizer state", "'step.", name, "' must be an integer >= 1, got ", v);
    fresh[i].step = static_cast<int64_t>(v);
    const Shape& shape = params_[i].second.value().shape();
    for (const std::string& b : buffer_names_) {
      auto bt = given.find(b + "." + name);
      RC_CHECK(bt != given.end(), "optimizer state", "missing tensor '", b, ".", name, "' for a ", kind(),
               " optimizer with this configuration");
      RC_CHECK(bt->second->shape() == shape, "optimizer state", "tensor '", b, ".", name, "' has shape ",
               shape_str(bt->second->shape()), ", expected ", shape_str(shape));
      fresh[i].buf.push_back(bt->second->clone());
      ++used;
    }
  }
  if (used != given.size()) {
    // Name one tensor nothing claimed (a different optimizer, configuration or model).
    for (const auto& [key, t] : st) {
      bool claimed = false;
      for (size_t i = 0; i < params_.size() && !claimed; ++i) {
        if (fresh[i].step == 0) continue;
        const std::string& name = params_[i].first;
        claimed = key == "step." + name;
        for (const std::string& b : buffer_names_) claimed = claimed || key == b + "." + name;
      }
      RC_CHECK(claimed, "optimizer state", "unexpected tensor '", key, "' for a ", kind(),
               " optimizer with this configuration and these parameters");
    }
  }
  slots_ = std::move(fresh);
}

}  // namespace recurrent
