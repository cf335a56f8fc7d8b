// Gradient lab observer: forward statistics from a direction's tape, and batch norms of the
// per-step gradients recorded by BPTT. Contract: include/recurrent/nn/rnn_probe.h.
#include <cmath>

#include "nn/cell.h"
#include "nn/rnn_direction.h"
#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

using rnn::Act;

bool saturated(Act a, float v) {
  switch (a) {
    case Act::sigmoid: return v < 0.05f || v > 0.95f;
    case Act::tanh: return std::fabs(v) > 0.9f;  // (v+1)/2 outside [0.05, 0.95]
    case Act::relu: return v <= 0.0f;            // a dead unit passes no gradient
    case Act::linear: return false;              // a scan cell's value path (minGRU's h̃, RG-LRU's x)
  }
  return false;
}

std::vector<double> batch_norms(const Tensor& rows) {  // sqrt(Σ_b n_b²) per t, in double
  std::vector<double> out;
  if (!rows.defined()) return out;
  const int64_t T = rows.size(0), B = rows.size(1);
  const float* p = rows.data();
  for (int64_t t = 0; t < T; ++t) {
    double acc = 0.0;
    for (int64_t b = 0; b < B; ++b) acc += static_cast<double>(p[t * B + b]) * p[t * B + b];
    out.push_back(std::sqrt(acc));
  }
  return out;
}

const GradProbe::Dir& dir_of(const GradProbe& p, size_t layer, int dir) {
  RC_CHECK(layer < p.layers.size() && dir >= 0 && static_cast<size_t>(dir) < p.layers[layer].size(), "GradProbe",
           "no record for layer ", layer, " direction ", dir, " (has the network run with the probe attached?)");
  return p.layers[layer][dir];
}

}  // namespace

std::vector<double> GradProbe::dh_norm(size_t layer, int dir) const { return batch_norms(dir_of(*this, layer, dir).dh); }
std::vector<double> GradProbe::dc_norm(size_t layer, int dir) const { return batch_norms(dir_of(*this, layer, dir).dc); }

namespace rnn {

void record_forward_stats(const DirShape& s, const DirTape& tape, GradProbe::Dir& out, bool keep_states) {
  const Cell& cell = cell_of(s.cell);
  const int64_t T = s.T, B = s.B, H = s.H, R = s.R, G = s.G();
  out.gates.assign(cell.gate_names, cell.gate_names + G);  // PyTorch's gate order (docs/cells.md)
  if (keep_states) {  // the tape's own rows (slots: rnn_direction.h), copied if a backward may overwrite them
    const int64_t first = s.reverse ? 0 : 1;
    const auto keep = [](const Tensor& t) { return grad_enabled() ? t.clone() : t; };
    out.h = keep(tape.hs.slice(0, first, first + T));
    out.gate_acts = keep(tape.a);
    out.c = tape.cs.defined() ? keep(tape.cs.slice(0, first, first + T)) : Tensor();
    return;
  }
  const Act* acts = cell.gate_acts;
  const int rev = s.reverse ? 1 : 0;
  std::vector<double> sum(G, 0.0), sat(G, 0.0);
  double hn = 0.0, cn = 0.0;
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      if (!tape.valid.empty() && !tape.valid[t * B + b]) continue;  // padded rows hold raw pre-activations
      ++n;
      const float* a = tape.a.data() + (t * B + b) * G * H;
      for (int64_t g = 0; g < G; ++g)
        for (int64_t j = 0; j < H; ++j) {
          float v = a[g * H + j];
          sum[g] += v;
          sat[g] += saturated(acts[g], v);
        }
      const float* h = tape.hs.data() + ((t + 1 - rev) * B + b) * R;
      double acc = 0.0;
      for (int64_t j = 0; j < R; ++j) acc += static_cast<double>(h[j]) * h[j];
      hn += std::sqrt(acc);
      if (tape.cs.defined()) {
        const float* c = tape.cs.data() + ((t + 1 - rev) * B + b) * H;
        acc = 0.0;
        for (int64_t j = 0; j < H; ++j) acc += static_cast<double>(c[j]) * c[j];
        cn += std::sqrt(acc);
      }
    }
  const double cnt = static_cast<double>(std::max<int64_t>(n, 1));
  out.gate_mean.assign(G, 0.0);
  out.gate_saturated.assign(G, 0.0);
  for (int64_t g = 0; g < G; ++g) {
    out.gate_mean[g] = sum[g] / (cnt * H);
    out.gate_saturated[g] = sat[g] / (cnt * H);
  }
  out.h_norm = hn / cnt;
  out.c_norm = cn / cnt;
}

}  // namespace rnn
}  // namespace recurrent
