// The per-layer options shared by the training commands (`train lm`, `train classify`):
// `--cell lstm,gru --hidden 512,256 --layers 2` → one LayerSpec per layer. Internal to src/tasks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "recurrent/nn/rnn_types.h"

namespace recurrent::tasks {

// cells, hidden: one value for every layer, or a comma list with one value per layer.
// Errors name the option (--layers, --cell, --hidden) and what was expected.
std::vector<LayerSpec> layer_specs(const std::string& cells, const std::string& hidden, int64_t layers);

}  // namespace recurrent::tasks
