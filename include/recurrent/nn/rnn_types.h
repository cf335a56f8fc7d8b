// recurrent/nn/rnn_types.h — cell kinds, per-layer specs and options of a recurrent network.
//
// Every cell follows PyTorch's parameter layout (docs/cells.md has all equations):
//   weight_ih_l{k}[_reverse] [G*H, I]   weight_hh_l{k} [G*H, R]   bias_ih_l{k}, bias_hh_l{k} [G*H]
//   weight_hr_l{k} [P, H] (LSTM projection, R = P)   weight_ch_l{k} [3, H] (peephole i, f, o)
// with R = P if proj_size > 0 else H, and G gates per cell:
//   rnn_tanh, rnn_relu   G = 1
//   lstm, lstm_peephole  G = 4  (i, f, g, o)
//   gru (PyTorch/cuDNN linear-before-reset), gru_cho (Cho et al. 2014, reset before the matmul)
//                        G = 3  (r, z, n)
//   gru_simple           G = 2  (u, c̃): the update-gate-only GRU of sequence-model courses
//   scan cells (no weight_hh, no bias_hh: gates from x only, h_t = a_t ⊙ h_{t-1} + b_t; src/nn/rnn_scan.cpp):
//   mingru               G = 2  (z, h̃)      minGRU (Feng et al. 2024)
//   minlstm              G = 3  (f, i, h̃)   minLSTM (Feng et al. 2024)
//   rglru                G = 3  (r, i, x)   RG-LRU (De et al. 2024, Griffin), + lambda_l{k} [H]
//   lstm_ln, gru_ln      layer-normalised LSTM (G = 4) and GRU (G = 3), Ba et al. 2016; extra parameters
//                        ln_weight_ih_l{k}, ln_weight_hh_l{k} [G*H] (gains), LSTM: ln_weight_c_l{k}, ln_bias_c_l{k} [H]
//   lstm_bn              recurrent batch-normalised LSTM (G = 4), Cooijmans et al. 2016; extra parameters
//                        bn_weight_ih_l{k}, bn_weight_hh_l{k} [G*H] (γ_x, γ_h), bn_weight_c_l{k}, bn_bias_c_l{k} [H]
//                        (γ_c, β_c), and per-time-step running statistics (buffers, not parameters:
//                        bn_running_{mean,var}_{ih,hh}_l{k} [S, G*H], bn_running_{mean,var}_c_l{k} [S, H])
// Each cell is one unit of code (src/nn/cell.h, one cell_*.cpp per cell; docs/engine.md "Adding a cell").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent {

enum class CellType { rnn_tanh, rnn_relu, lstm, lstm_peephole, gru, gru_cho, gru_simple, mingru, minlstm, rglru,
                      lstm_ln, gru_ln, lstm_bn };

const char* cell_name(CellType c);
CellType parse_cell(const std::string& name);  // throws Error("--cell", ...) listing valid names
std::vector<std::string> cell_names();
int gate_count(CellType c);
inline bool is_lstm(CellType c) {
  return c == CellType::lstm || c == CellType::lstm_peephole || c == CellType::lstm_ln || c == CellType::lstm_bn;
}
// Layer-normalised cells (Ba et al. 2016; docs/cells.md): fused loops (rows split) and the reference only, fp32.
inline bool is_layer_norm(CellType c) { return c == CellType::lstm_ln || c == CellType::gru_ln; }
// Recurrent batch normalisation (Cooijmans et al. 2016; docs/cells.md): statistics over the batch, per time step,
// so the rows of a step are coupled; the double engine (rnn_bn.cpp) runs it, fp32 only, no recurrent dropout/zoneout.
inline bool is_batch_norm(CellType c) { return c == CellType::lstm_bn; }
bool has_cell_state(CellType c);  // carries c_t beside h_t (the LSTMs)
bool is_scan_cell(CellType c);    // mingru, minlstm, rglru: no weight_hh (gates from x only)
// A parameter (by its full name, "rnn.ln_weight_ih_l0") that a blanket re-initialisation (an LM's --init-range)
// leaves alone: the norms' gains and biases (ln_*, bn_*) and RG-LRU's lambda_l{k}, whose starting values matter.
bool keeps_own_init(const std::string& parameter_name);

// One layer of a stack: its cell, hidden size and (LSTM only) projection size.
struct LayerSpec {
  CellType cell = CellType::lstm;
  int64_t hidden = 0;
  int64_t proj = 0;  // 0: no projection
  // Inside the recurrence (docs/cells.md "Recurrent dropout and zoneout"), probabilities in [0, 1):
  //   recurrent_dropout  Gal & Ghahramani 2016: h_{t-1} as fed to W_hh times one inverted-dropout mask per
  //                      sequence (and direction), training only. Not with gru_cho.
  //   zoneout            Krueger et al. 2017: per unit per step, h_t (and c_t) keep their previous values with
  //                      probability p (one mask shared by h and c) in training; at evaluation the
  //                      expectation h_t = p h_{t-1} + (1-p) h̃_t. Not with a projection.
  float recurrent_dropout = 0.0f;
  float zoneout = 0.0f;
  int64_t out_size() const { return proj > 0 ? proj : hidden; }  // R: size of h_t
};

enum class BidirMerge { concat, sum };

// Arithmetic of the recurrent layers' matrix products (docs/engine.md, "bf16").
//   fp32  everything in float32 (the default).
//   bf16  mixed precision as PyTorch autocast / oneDNN's bf16 RNN: the fp32 master weights stay as
//         they are; every matrix product of a layer (X·W_ihᵀ, the per-step h_{t-1}·W_hhᵀ and dA_t·W_hh,
//         the projection W_hr and Cho's W_hn products, dX = dA·W_ih and the weight gradients
//         dW = dAᵀ·X, ...) rounds both operands to bf16 (nearest even) and accumulates in fp32; gates,
//         cell state, h, bias gradients and all elementwise work stay fp32. Needs AVX512_BF16 and
//         the fused engine (validate() and a run-time check; the double reference engine ignores it).
enum class Precision { fp32, bf16 };
const char* precision_name(Precision p);           // "fp32" | "bf16"
Precision parse_precision(const std::string& s);   // throws Error("--precision", ...)

// How the fast engine runs the layers (docs/engine.md "Engine choices"). Every field's zero value means
// "the process default" (default_engine(), which the CLI sets from RECURRENT_TARGET, RECURRENT_RNN_SPLIT,
// RECURRENT_RNN_FOLD, RECURRENT_RNN_FUSED and RECURRENT_AMX; the library itself reads no environment), whose own
// zero values mean "decide from the CPU and the work size". So two models in one process may run
// different targets or choices, and tests force each one without touching the others.
struct EngineConfig {
  int64_t target = 0;  // SIMD target (recurrent/kernels/target.h): 0 = default
  int split = 0;       // fused forward work split: 1 batch rows (each thread ≥ 8), -1 hidden-unit blocks, 0 automatic
  int fold = 0;        // input projection folded into the fused steps: 1 always (where the cell allows), -1 never, 0 rule
  int fused = 0;       // 1 / 0: the fused time loops; -1: the per-step path (oneDNN products + scalar cell kernels)
  int amx = 0;         // bf16 per-step products on AMX tiles: 1 / 0 where the CPU has them (cpu_has_amx_bf16),
                       // -1 never (AVX512_BF16's vdpbf16ps); fp32 ignores it (docs/engine.md, "bf16")
  // This config with its zero fields taken from `dflt` (whose zero fields stay zero: the rule decides).
  EngineConfig over(const EngineConfig& dflt) const {
    return {.target = target ? target : dflt.target,
            .split = split ? split : dflt.split,
            .fold = fold ? fold : dflt.fold,
            .fused = fused ? fused : dflt.fused,
            .amx = amx ? amx : dflt.amx};
  }
};
// The process default (all zero unless set). Thread-safe; read when a layer runs.
EngineConfig default_engine();
void set_default_engine(const EngineConfig& e);  // e.target is checked (this CPU must run it)
// Whether the bf16 products can run on `target` (the AVX-512 targets: their panels are 32 columns wide).
bool bf16_target(int64_t target);
// Whether precision bf16 runs under the process default engine: a CPU with AVX512_BF16 and a default target with
// the bf16 products (what RNNOptions::validate() asks of a layer that does not set its own target).
bool bf16_available();

struct RNNOptions {
  int64_t input_size = 0;
  std::vector<LayerSpec> layers;   // one per layer; cells and sizes may differ per layer
  bool bidirectional = false;
  BidirMerge merge = BidirMerge::concat;
  float dropout = 0.0f;            // between layers (not after the last), training only
  bool batch_first = false;
  bool bias = true;
  Precision precision = Precision::fp32;  // arithmetic of the layers' matrix products (above)
  EngineConfig engine;             // this model's engine choices (zero fields: the process default)

  // PyTorch-style uniform stack: num_layers layers of one cell.
  static RNNOptions uniform(CellType cell, int64_t input_size, int64_t hidden, int64_t num_layers,
                            bool bidirectional = false, int64_t proj = 0);
  int directions() const { return bidirectional ? 2 : 1; }
  // Feature size a layer emits (the next layer's input size).
  int64_t layer_output_size(size_t l) const {
    int64_t r = layers[l].out_size();
    return bidirectional && merge == BidirMerge::concat ? 2 * r : r;
  }
  void validate() const;  // throws Error on nonsense (non-positive sizes, proj on non-LSTM, ...)
};

}  // namespace recurrent
