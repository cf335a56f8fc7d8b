// recurrent/nn/rnn.h — a stack of recurrent layers: any cell per layer, bidirectional, dropout
// between layers, variable lengths, carried state. Equations and names: docs/cells.md.
//
//   input  [T, B, I] (or [B, T, I] with batch_first)      lengths: B values in [1, T] (or empty)
//   output [T, B, D·R_last] (concat) or [T, B, R_last] (sum); zero past each sequence's length
//   h_n[l] [D, B, R_l], c_n[l] [D, B, H_l] (LSTM layers): the state at each sequence's own last
//          step (for the reverse direction, after its first step)
//
// Each layer (both directions) joins the tape as ONE op whose backward is the hand-written BPTT of
// src/nn/rnn_direction.cpp. Parameters follow PyTorch: weight_ih_l{k}[_reverse], weight_hh_l{k},
// bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k} (projection), weight_ch_l{k} (peephole).
#pragma once

#include <memory>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn_probe.h"
#include "recurrent/nn/rnn_types.h"

namespace recurrent {

struct RNNState {
  std::vector<Var> h;  // per layer [D, B, R_l]; empty: zeros
  std::vector<Var> c;  // per layer [D, B, H_l] (LSTM layers; others: undefined Var); empty: zeros
};

namespace rnn {
class PanelCache;  // src/nn/rnn_panel_cache.h
}

// Lookups of the packed-weight cache (RNN::panel_cache_stats): a hit reused the panels packed by an
// earlier call, a miss packed them.
struct PanelCacheStats {
  int64_t hits = 0, misses = 0;
};

struct RNNOutput {
  Var output;
  RNNState final_state;  // h_n / c_n per layer
  int64_t tape_bytes = 0;  // activations kept for backward by this call
};

class RNN : public Module {
 public:
  RNN(RNNOptions opts, Rng& rng);  // PyTorch default init: every parameter U(-1/√H, 1/√H)

  RNNOutput forward(const Var& input, const std::vector<int64_t>& lengths = {}, const RNNState& init = {});

  const RNNOptions& options() const { return opts_; }
  // Parameter name of (layer, direction, kind), kind ∈ {weight_ih, weight_hh, bias_ih, bias_hh, weight_hr, weight_ch,
  // lambda} (the scan cells have no weight_hh / bias_hh; lambda: RG-LRU's Λ [H]).
  static std::string param_name(const char* kind, size_t layer, int dir);
  Var param(const char* kind, size_t layer, int dir) const;  // undefined Var if the layer has none
  Rng& dropout_rng() { return dropout_rng_; }
  // Recurrent dropout / zoneout (LayerSpec) masks to use in training instead of drawing them (PyTorch parity,
  // replays), per layer and direction at index l·D + d: rmask [B, R] (0 or 1/(1-p)), zmask [T, B, H] (0 or 1);
  // an undefined tensor (or a short list): that layer draws its own. Kept until set again (empty lists: none).
  void set_recurrent_masks(std::vector<Tensor> rmask, std::vector<Tensor> zmask) {
    fixed_rmask_ = std::move(rmask), fixed_zmask_ = std::move(zmask);
  }
  const std::vector<Tensor>& fixed_rmask() const { return fixed_rmask_; }
  const std::vector<Tensor>& fixed_zmask() const { return fixed_zmask_; }

  // Gradient lab: record per-step gradient norms and gate statistics (rnn_probe.h); null detaches.
  void set_grad_probe(std::shared_ptr<GradProbe> probe) { probe_ = std::move(probe); }
  const std::shared_ptr<GradProbe>& grad_probe() const { return probe_; }

  // Packed-weight cache (docs/engine.md): the fused forward loop's weight panels of each (layer,
  // direction), packed once and reused while the weights' versions (tensor.h) are unchanged, so a
  // token-at-a-time generator pays one step per token, not a re-pack. Any write to a weight (an
  // optimizer step, copy_, loading a checkpoint) invalidates them. A copy of an RNN SHARES its caches,
  // as it shares its parameters (entries are keyed by the weights' storage ids, so a copy given other
  // weights only misses). Safe with concurrent forward calls on one model.
  // The cache of (layer, dir), null when caching is off.
  rnn::PanelCache* panel_cache(size_t layer, int dir) const;
  PanelCacheStats panel_cache_stats() const;  // summed over layers and directions, since construction
  void set_panel_caching(bool on);             // default on; off also drops the packed panels

 private:
  RNNOptions opts_;
  Rng dropout_rng_;
  std::vector<Tensor> fixed_rmask_, fixed_zmask_;
  std::shared_ptr<GradProbe> probe_;
  std::vector<std::shared_ptr<rnn::PanelCache>> panel_caches_;  // [layer · directions + dir]
  bool panel_caching_ = true;
};

// Which implementation runs the layers: the fused fast path (default) or the plain step-by-step
// reference (scalar, double precision; for tests and as a fallback). Process-wide.
enum class RnnEngine { fast, reference };
void set_rnn_engine(RnnEngine e);
RnnEngine rnn_engine();

// PyTorch's stacked layout of per-layer states: [L*D, B, R]. Throws if layer sizes differ.
Tensor stack_states(const std::vector<Var>& per_layer);

}  // namespace recurrent
