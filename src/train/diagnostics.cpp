// Gradient-flow diagnostics as JSON lines. Contract: include/recurrent/train/diagnostics.h.
#include "recurrent/train/diagnostics.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/optim/clip.h"

namespace recurrent::train {

namespace {

// JSON has no NaN/Inf: they are written as null (a diverging run is what diagnostics are for).
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json nums(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

double sq_norm(const Tensor& g) {
  double s = 0.0;
  const float* p = g.data();
  for (int64_t i = 0, n = g.numel(); i < n; ++i) s += static_cast<double>(p[i]) * p[i];
  return s;
}

}  // namespace

Diagnostics::Diagnostics(RNN& rnn, const NamedParams& params, const std::string& path, int64_t every, bool append)
    : rnn_(rnn), params_(params), path_(path), every_(every) {
  RC_CHECK(every >= 1, "--diagnostics", "expected a step interval ≥ 1, got ", every);
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  RC_CHECK(out_.good(), path, "cannot open for writing");
}

bool Diagnostics::begin_step(int64_t step) {
  if (!due(step)) return false;
  rnn_.set_grad_probe(probe_);
  t0_ = std::chrono::steady_clock::now();
  return true;
}

void Diagnostics::abandon() { rnn_.set_grad_probe(nullptr); }

void Diagnostics::end_step(int64_t step, double loss, double norm_before) {
  rnn_.set_grad_probe(nullptr);
  using nlohmann::json;
  std::vector<Var> ps;
  for (auto& [n, p] : params_) ps.push_back(p);
  const double after = grad_norm(ps);
  // Clipping scaled every gradient by after / before; undo it for the per-parameter norms.
  const double unscale = after > 0.0 && norm_before > after ? norm_before / after : 1.0;
  json pn = json::object();
  for (auto& [name, p] : params_)
    if (p.has_grad()) pn[name] = num(std::sqrt(sq_norm(p.grad())) * unscale);
  json layers = json::array();
  for (size_t l = 0; l < probe_->layers.size(); ++l)
    for (size_t d = 0; d < probe_->layers[l].size(); ++d) {
      const GradProbe::Dir& dir = probe_->layers[l][d];
      json g = json::object();
      json lay = {{"layer", l}, {"dir", d}, {"dh", nums(probe_->dh_norm(l, static_cast<int>(d)))}};
      if (dir.dc.defined()) lay["dc"] = nums(probe_->dc_norm(l, static_cast<int>(d)));
      for (size_t k = 0; k < dir.gates.size(); ++k) {
        g[dir.gates[k]] = {{"mean", num(dir.gate_mean[k])}, {"saturated", num(dir.gate_saturated[k])}};
        if (dir.gates[k] == "f" && dir.dc.defined()) lay["forget_mean"] = num(dir.gate_mean[k]);
      }
      lay["gates"] = g;
      lay["h_norm"] = num(dir.h_norm);
      if (dir.dc.defined()) lay["c_norm"] = num(dir.c_norm);
      layers.push_back(lay);
    }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  json line = {{"step", step}, {"loss", num(loss)}, {"grad_norm", num(norm_before)}, {"clipped_norm", num(after)},
               {"param_grad_norms", pn}, {"layers", layers}, {"seconds", secs}};
  out_ << line.dump() << "\n";
  out_.flush();
  RC_CHECK(out_.good(), path_, "write failed");
  ++lines_;
}

}  // namespace recurrent::train
