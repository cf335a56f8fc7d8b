// The per-layer options shared by the training commands (`train lm`, `train classify`):
// `--cell lstm,gru --hidden 512,256 --layers 2` → one LayerSpec per layer. Internal to src/tasks.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recurrent/nn/rnn_types.h"

namespace recurrent::tasks {

// cells, hidden: one value for every layer, or a comma list with one value per layer.
// Errors name the option (--layers, --cell, --hidden) and what was expected.
// recurrent_dropout, zoneout (--recurrent-dropout, --zoneout): every layer's (LayerSpec), checked by RNNOptions::validate.
std::vector<LayerSpec> layer_specs(const std::string& cells, const std::string& hidden, int64_t layers,
                                   double recurrent_dropout = 0.0, double zoneout = 0.0);

// One layer in a model's configuration JSON: {"cell", "hidden", "proj", "recurrent_dropout", "zoneout"}; read back
// with the regularisers 0 when absent (models written before them).
nlohmann::json layer_json(const LayerSpec& l);
LayerSpec layer_from_json(const nlohmann::json& j);

}  // namespace recurrent::tasks
