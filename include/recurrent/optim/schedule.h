// recurrent/optim/schedule.h — learning-rate schedules.
//
// Stateless schedules are pure functions lr_at(step) of a 0-based step index (an optimizer step or
// an epoch, whichever unit the caller counts); nothing to save, resuming at step s just asks lr_at(s).
//   ConstantLR     lr(s) = base
//   StepLR         lr(s) = base * gamma^floor(s / step_size)            (PyTorch StepLR closed form)
//   ExponentialLR  lr(s) = base * gamma^s                                (PyTorch ExponentialLR)
//   WarmupCosineLR s <  W:      lr = base * (s + 1) / W                  (linear warmup; step 0 is
//                                                                          not wasted at lr 0)
//                  W <= s <= S: lr = min + (base - min) * (1 + cos(pi * (s - W) / (S - W))) / 2
//                  s >  S:      lr = min
//                  (W = warmup_steps, S = total_steps; the cosine part is PyTorch's
//                  CosineAnnealingLR closed form with T_max = S - W, eta_min = min)
// ReduceLROnPlateau (stateful; plateau.h) is fed a metric instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace recurrent {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual double lr_at(int64_t step) const = 0;  // step >= 0
  virtual std::string describe() const = 0;      // one line, for logs
};

class ConstantLR : public LrSchedule {
 public:
  explicit ConstantLR(double base_lr);
  double lr_at(int64_t step) const override;
  std::string describe() const override;

 private:
  double base_;
};

class StepLR : public LrSchedule {
 public:
  StepLR(double base_lr, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t step) const override;
  std::string describe() const override;

 private:
  double base_, gamma_;
  int64_t step_size_;
};

class ExponentialLR : public LrSchedule {
 public:
  ExponentialLR(double base_lr, double gamma);
  double lr_at(int64_t step) const override;
  std::string describe() const override;

 private:
  double base_, gamma_;
};

class WarmupCosineLR : public LrSchedule {
 public:
  WarmupCosineLR(double base_lr, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0);
  double lr_at(int64_t step) const override;
  std::string describe() const override;

 private:
  double base_, min_;
  int64_t warmup_, total_;
};

}  // namespace recurrent
