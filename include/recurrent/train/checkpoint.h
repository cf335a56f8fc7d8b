// recurrent/train/checkpoint.h — training checkpoints as one safetensors file, written atomically.
//
// Layout of a checkpoint file (any task):
//   tensors   "model.<parameter name>"   the weights (PyTorch-style names, e.g. model.rnn.weight_ih_l0)
//             "optim.<state name>"       optimizer state (Optimizer::state(): step.<p>, exp_avg.<p>, ...)
//             "extra.<name>"             task state that must survive a resume (e.g. carried hidden state)
//   __metadata__ "recurrent.format" = "checkpoint-1"
//                "recurrent.config"  = JSON: everything needed to rebuild the model (incl. vocabulary)
//                "recurrent.train"   = JSON: step, epoch, RNG states, lr, ... (absent in weights-only files)
//                "recurrent.command" = the CLI's record of the run's options (RunOptions::command; may be absent)
//                "recurrent.baseline" = JSON: the task's baseline fitted on the training part, when it is not
//                                       tensors (e.g. a tagger's most-frequent-tag table; may be absent)
// The write goes through io::write_safetensors (temp file, fsync, rename), so a crash or Ctrl-C
// mid-write leaves the previous checkpoint intact. Under mpirun only rank 0 writes (dist.h): the
// others' save_checkpoint does nothing (they hold the same weights and optimizer state).
#pragma once

#include <string>

#include "recurrent/core/rng.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/module.h"
#include "recurrent/optim/optimizer.h"

namespace recurrent::train {

struct CheckpointData {
  std::string config_json;         // required
  std::string train_json;          // empty: weights-only file
  io::NamedTensors extra;          // names without the "extra." prefix
  std::string command_json;        // RunOptions::command; empty: none
  std::string baseline_json;       // empty: none
};

// opt may be null (weights-only).
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* opt, const CheckpointData& d);

struct LoadedCheckpoint {
  io::SafeTensors file;
  std::string config_json, train_json, command_json, baseline_json;
  io::NamedTensors optim;  // "optim." prefix removed
  io::NamedTensors extra;  // "extra." prefix removed
};
// Reads and checks the format marker; throws Error(path, ...) on anything else.
LoadedCheckpoint read_checkpoint(const std::string& path);
// Strict: every parameter present with its shape, no unknown "model." tensor. Errors name the file.
void load_model_weights(const LoadedCheckpoint& ck, Module& model);

// RNG state <-> the JSON text {"seed":..,"stream":..,"counter":..} (uint64 exact).
std::string rng_state_to_json(const Rng& r);
void rng_state_from_json(Rng& r, const std::string& json, const std::string& where);

}  // namespace recurrent::train
