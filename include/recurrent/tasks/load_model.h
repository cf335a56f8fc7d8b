// recurrent/tasks/load_model.h — what every task's `load_*` does: a checkpoint file or a run
// directory → the model its recurrent.config describes, with its weights, in eval mode.
#pragma once

#include <memory>
#include <string>

#include "recurrent/core/rng.h"
#include "recurrent/train/checkpoint.h"

namespace recurrent::tasks {

// A directory → DIR/best.safetensors if present, else DIR/last.safetensors; a file → itself.
// Throws Error(p, ...) when there is neither.
std::string resolve_model_path(const std::string& p);

// `make(config_json, where, rng)` returns a std::unique_ptr to the untrained model (throwing
// Error(where, ...) on a bad configuration); its weights then come from the checkpoint.
template <class Make>
auto load_trained(const std::string& model_path, Make make) {
  const std::string path = resolve_model_path(model_path);
  const train::LoadedCheckpoint ck = train::read_checkpoint(path);
  Rng rng(0);  // initialisation is overwritten by the checkpoint
  auto m = make(ck.config_json, path, rng);
  train::load_model_weights(ck, *m);
  m->eval();
  return m;
}

// The common case: Model(Config::from_json(config_json, where), rng).
template <class Model, class Config>
std::unique_ptr<Model> load_trained(const std::string& model_path) {
  return load_trained(model_path, [](const std::string& json, const std::string& where, Rng& rng) {
    return std::make_unique<Model>(Config::from_json(json, where), rng);
  });
}

}  // namespace recurrent::tasks
