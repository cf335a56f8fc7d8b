#include "recurrent/nn/rnn_types.h"

#include "nn/cell.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/target.h"

#include <mutex>

namespace recurrent {

// cell_name, gate_count, cell_names, parse_cell: cell_registry.cpp (from the cells themselves).

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  throw Error("--precision", "unknown precision '" + s + "'; expected one of: fp32, bf16");
}

RNNOptions RNNOptions::uniform(CellType cell, int64_t input_size, int64_t hidden, int64_t num_layers,
                               bool bidirectional, int64_t proj) {
  RNNOptions o;
  o.input_size = input_size;
  o.bidirectional = bidirectional;
  for (int64_t l = 0; l < num_layers; ++l) o.layers.push_back({cell, hidden, proj});
  return o;
}

void RNNOptions::validate() const {
  RC_CHECK(input_size > 0, "input_size", "expected a positive input size, got ", input_size);
  RC_CHECK(!layers.empty(), "layers", "expected at least one layer");
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& s = layers[l];
    RC_CHECK(s.hidden > 0, "hidden", "layer ", l, ": expected a positive hidden size, got ", s.hidden);
    RC_CHECK(s.proj >= 0, "proj_size", "layer ", l, ": expected proj_size >= 0, got ", s.proj);
    RC_CHECK(s.proj == 0 || rnn::cell_of(s.cell).projection, "proj_size", "layer ", l,
             ": projection is only defined for LSTM cells, not ",
             cell_name(s.cell));
    RC_CHECK(s.proj < s.hidden, "proj_size", "layer ", l, ": proj_size (", s.proj, ") must be smaller than hidden (",
             s.hidden, "), as in PyTorch");
    RC_CHECK(s.recurrent_dropout >= 0.0f && s.recurrent_dropout < 1.0f, "--recurrent-dropout", "layer ", l,
             ": expected a probability in [0, 1), got ", s.recurrent_dropout);
    RC_CHECK(s.zoneout >= 0.0f && s.zoneout < 1.0f, "--zoneout", "layer ", l, ": expected a probability in [0, 1), got ",
             s.zoneout);
    RC_CHECK(s.recurrent_dropout == 0.0f || s.cell != CellType::gru_cho, "--recurrent-dropout", "layer ", l,
             ": not defined for gru_cho (its reset multiplies h_{t-1} before W_hn); the other cells take it");
    RC_CHECK(s.recurrent_dropout == 0.0f || !is_scan_cell(s.cell), "--recurrent-dropout", "layer ", l, ": ",
             cell_name(s.cell), " has no W_hh to feed a dropped h_{t-1} to (a scan cell's gates see x_t only)");
    RC_CHECK(s.zoneout == 0.0f || !is_scan_cell(s.cell), "--zoneout", "layer ", l,
             ": not implemented for the scan cells (mingru, minlstm, rglru)");
    RC_CHECK(!is_batch_norm(s.cell) || (s.recurrent_dropout == 0.0f && s.zoneout == 0.0f),
             s.recurrent_dropout != 0.0f ? "--recurrent-dropout" : "--zoneout", "layer ", l,
             ": not implemented for lstm_bn (its batch statistics would see the masked states)");
    RC_CHECK(s.zoneout == 0.0f || s.proj == 0, "--zoneout", "layer ", l,
             ": an LSTM with a projection (proj_size) has no state of its own to zone (h = W_hr m); every cell "
             "without a projection takes it");
  }
  for (size_t l = 0; l < layers.size(); ++l)
    RC_CHECK((!is_layer_norm(layers[l].cell) && !is_batch_norm(layers[l].cell)) || precision == Precision::fp32,
             "precision", "layer ", l, ": ",
             cell_name(layers[l].cell), " runs in fp32 only");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "dropout", "expected a probability in [0, 1), got ", dropout);
  if (precision == Precision::bf16)
    for (const LayerSpec& s : layers)
      RC_CHECK(!rnn::cell_of(s.cell).scan, "precision", "bf16 is not implemented for the scan cell ", cell_name(s.cell),
               "; use precision fp32");
  if (precision == Precision::bf16) {
    const int64_t target = simd::resolve_target(engine.over(default_engine()).target);
    RC_CHECK(cpu_has_avx512_bf16() && bf16_target(target), "precision",
             "bf16 needs a CPU with AVX512_BF16 and the avx512 target (this CPU: ",
             cpu_has_avx512_bf16() ? "has AVX512_BF16 but the target is " + simd::target_name(target) : "no AVX512_BF16",
             "); use precision fp32");
  }
}

bool bf16_target(int64_t target) { return simd::avx512_target(target); }

bool bf16_available() { return cpu_has_avx512_bf16() && bf16_target(simd::resolve_target(default_engine().target)); }

namespace {
std::mutex g_engine_mutex;
EngineConfig g_engine_default;
}  // namespace

EngineConfig default_engine() {
  std::lock_guard<std::mutex> lock(g_engine_mutex);
  return g_engine_default;
}

void set_default_engine(const EngineConfig& e) {
  if (e.target != 0) simd::resolve_target(e.target);  // throws if this CPU cannot run it
  std::lock_guard<std::mutex> lock(g_engine_mutex);
  g_engine_default = e;
}

bool keeps_own_init(const std::string& parameter_name) {
  const size_t dot = parameter_name.rfind('.');
  const std::string leaf = dot == std::string::npos ? parameter_name : parameter_name.substr(dot + 1);
  return leaf.rfind("ln_", 0) == 0 || leaf.rfind("bn_", 0) == 0 || leaf.rfind("lambda_l", 0) == 0;
}

}  // namespace recurrent
