// tests/optim/optim_test_util.h — building optimizers from the fixture's JSON options, and a
// comparison that reports the worst element.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "recurrent/io/safetensors.h"
#include "recurrent/optim/adagrad.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/rmsprop.h"
#include "recurrent/optim/sgd.h"

namespace recurrent::testing {

inline const std::string kOptimFixtures = std::string(RECURRENT_TEST_DATA) + "/optim/";

// The optimizer a fixture case describes: {"optimizer": "Adam", "lr": .., "betas": [..], ...}
// with PyTorch's keyword names and defaults.
inline std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& o, NamedParams params) {
  const std::string cls = o.at("optimizer");
  if (cls == "SGD") {
    SgdOptions s;
    s.lr = o.at("lr");
    s.momentum = o.value("momentum", 0.0);
    s.dampening = o.value("dampening", 0.0);
    s.weight_decay = o.value("weight_decay", 0.0);
    s.nesterov = o.value("nesterov", false);
    return std::make_unique<Sgd>(std::move(params), s);
  }
  if (cls == "Adam" || cls == "AdamW") {
    AdamOptions a = cls == "AdamW" ? adamw_defaults() : AdamOptions{};
    a.lr = o.at("lr");
    if (o.contains("betas")) {
      a.beta1 = o["betas"][0];
      a.beta2 = o["betas"][1];
    }
    a.eps = o.value("eps", a.eps);
    a.weight_decay = o.value("weight_decay", a.weight_decay);
    a.amsgrad = o.value("amsgrad", false);
    if (cls == "AdamW") return std::make_unique<AdamW>(std::move(params), a);
    return std::make_unique<Adam>(std::move(params), a);
  }
  if (cls == "RMSprop") {
    RmspropOptions r;
    r.lr = o.at("lr");
    r.alpha = o.value("alpha", r.alpha);
    r.eps = o.value("eps", r.eps);
    r.weight_decay = o.value("weight_decay", 0.0);
    r.momentum = o.value("momentum", 0.0);
    r.centered = o.value("centered", false);
    return std::make_unique<Rmsprop>(std::move(params), r);
  }
  if (cls == "Adagrad") {
    AdagradOptions a;
    a.lr = o.at("lr");
    a.lr_decay = o.value("lr_decay", 0.0);
    a.weight_decay = o.value("weight_decay", 0.0);
    a.initial_accumulator_value = o.value("initial_accumulator_value", 0.0);
    a.eps = o.value("eps", a.eps);
    return std::make_unique<Adagrad>(std::move(params), a);
  }
  ADD_FAILURE() << "unknown optimizer " << cls;
  return nullptr;
}

// |got - want| <= rel * |want| + abs for every element; a failure names the worst element.
inline ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rel, double abs) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  int64_t worst = -1;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.data()[i], w = want.data()[i];
    const double excess = std::fabs(g - w) - (rel * std::fabs(w) + abs);
    if (!(excess <= 0.0) && (worst < 0 || excess > worst_excess || std::isnan(excess))) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "worst element [" << worst << "]: got " << got.data()[worst] << ", want "
                                       << want.data()[worst] << " (tolerance " << rel << " rel + " << abs << " abs)";
}

}  // namespace recurrent::testing
