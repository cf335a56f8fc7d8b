// Stateless learning-rate schedules. Formulas in include/recurrent/optim/schedule.h.
#include "recurrent/optim/schedule.h"

#include <cmath>
#include <numbers>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
void check_base(double lr, const char* where) {
  RC_CHECK(std::isfinite(lr) && lr >= 0.0, where, "expected a finite base learning rate >= 0, got ", lr);
}
void check_step(int64_t step, const char* where) { RC_CHECK(step >= 0, where, "step must be >= 0, got ", step); }
std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}
}  // namespace

ConstantLR::ConstantLR(double base_lr) : base_(base_lr) { check_base(base_lr, "ConstantLR"); }
double ConstantLR::lr_at(int64_t step) const {
  check_step(step, "ConstantLR");
  return base_;
}
std::string ConstantLR::describe() const { return fmt("constant lr %g", base_); }

StepLR::StepLR(double base_lr, int64_t step_size, double gamma) : base_(base_lr), gamma_(gamma), step_size_(step_size) {
  check_base(base_lr, "StepLR");
  RC_CHECK(step_size >= 1, "StepLR step_size", "expected >= 1, got ", step_size);
  RC_CHECK(std::isfinite(gamma) && gamma >= 0.0, "StepLR gamma", "expected a finite value >= 0, got ", gamma);
}
double StepLR::lr_at(int64_t step) const {
  check_step(step, "StepLR");
  return base_ * std::pow(gamma_, static_cast<double>(step / step_size_));
}
std::string StepLR::describe() const {
  return fmt("step lr %g, x%g every %g steps", base_, gamma_, static_cast<double>(step_size_));
}

ExponentialLR::ExponentialLR(double base_lr, double gamma) : base_(base_lr), gamma_(gamma) {
  check_base(base_lr, "ExponentialLR");
  RC_CHECK(std::isfinite(gamma) && gamma >= 0.0, "ExponentialLR gamma", "expected a finite value >= 0, got ", gamma);
}
double ExponentialLR::lr_at(int64_t step) const {
  check_step(step, "ExponentialLR");
  return base_ * std::pow(gamma_, static_cast<double>(step));
}
std::string ExponentialLR::describe() const { return fmt("exponential lr %g, x%g per step", base_, gamma_); }

WarmupCosineLR::WarmupCosineLR(double base_lr, int64_t warmup_steps, int64_t total_steps, double min_lr)
    : base_(base_lr), min_(min_lr), warmup_(warmup_steps), total_(total_steps) {
  check_base(base_lr, "WarmupCosineLR");
  RC_CHECK(std::isfinite(min_lr) && min_lr >= 0.0 && min_lr <= base_lr, "WarmupCosineLR min_lr",
           "expected 0 <= min_lr <= base lr (", base_lr, "), got ", min_lr);
  RC_CHECK(warmup_steps >= 0, "WarmupCosineLR warmup_steps", "expected >= 0, got ", warmup_steps);
  RC_CHECK(total_steps > warmup_steps, "WarmupCosineLR total_steps", "expected more than warmup_steps (",
           warmup_steps, "), got ", total_steps);
}
double WarmupCosineLR::lr_at(int64_t step) const {
  check_step(step, "WarmupCosineLR");
  if (step < warmup_) return base_ * static_cast<double>(step + 1) / static_cast<double>(warmup_);
  if (step >= total_) return min_;
  const double progress = static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_);
  return min_ + (base_ - min_) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}
std::string WarmupCosineLR::describe() const {
  return fmt("cosine lr %g -> %g over %g steps after %g warmup steps", base_, min_,
             static_cast<double>(total_ - warmup_), static_cast<double>(warmup_));
}

}  // namespace recurrent
