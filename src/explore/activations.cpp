// Per-unit activations of a character LM over a text (contract in explore/activations.h).
#include "explore/activations.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/kernels/activations.h"
#include "recurrent/nn/rnn_probe.h"

namespace recurrent::explore {

namespace {

// Columns [col0, col0 + n) of rows 1.. of a [T', 1, W] tensor (row 0 is the start token's step): a view.
Rows columns(const Tensor& t, int64_t col0) {
  const int64_t W = t.size(2);
  return {t, t.data() + W + col0, W};
}

int64_t gate_index(const GradProbe::Dir& d, const char* name) {
  for (size_t g = 0; g < d.gates.size(); ++g)
    if (d.gates[g] == name) return static_cast<int64_t>(g);
  throw Error("model", std::string("the layer has no gate ") + name);
}

// max |o_t tanh(c_t) − h_t| over N rows of H units: the check that the rows were read at the right places.
double lstm_check(const Rows& o, const Rows& c, const Rows& h, int64_t N, int64_t H) {
  std::vector<float> tc(static_cast<size_t>(H));
  double worst = 0.0;
  for (int64_t t = 0; t < N; ++t) {
    tanh_vec(c.row(t), tc.data(), H);
    const float *ot = o.row(t), *ht = h.row(t);
    for (int64_t u = 0; u < H; ++u) worst = std::max(worst, static_cast<double>(std::fabs(ot[u] * tc[u] - ht[u])));
  }
  return worst;
}
// max |(1 − z) n + z h_{t−1} − h_t|; h_prev(t) = the state before row t.
double gru_check(const Rows& z, const Rows& n, const Rows& h, const float* h_first, int64_t N, int64_t H) {
  double worst = 0.0;
  for (int64_t t = 0; t < N; ++t) {
    const float *zt = z.row(t), *nt = n.row(t), *ht = h.row(t), *prev = t > 0 ? h.row(t - 1) : h_first;
    for (int64_t u = 0; u < H; ++u)
      worst = std::max(worst, static_cast<double>(std::fabs((1 - zt[u]) * nt[u] + zt[u] * prev[u] - ht[u])));
  }
  return worst;
}

}  // namespace

Rows Rows::of(std::vector<float> values, int64_t ld) {
  const int64_t n = static_cast<int64_t>(values.size());
  Tensor t = Tensor::from(std::move(values), {n});
  return {t, t.data(), ld};
}

Activations compute_activations(tasks::LanguageModel& m, const std::string& text, int64_t max_chars) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::Vocab& v = m.vocab();
  RC_CHECK(v.level() == data::TokenLevel::chars, "model", "the Cells view reads character-level models; this one is word level");
  const std::u32string u = data::utf8_decode(text, "text");
  RC_CHECK(!u.empty(), "text", "expected some text, got none");
  RC_CHECK(static_cast<int64_t>(u.size()) <= max_chars, "text", "expected at most ", max_chars, " characters, got ", u.size());
  const std::vector<int64_t> ids = tasks::sample_prime_ids(v, text, "text");
  RC_CHECK(ids.size() == u.size() + 1, "text", "the model's vocabulary split this text unexpectedly");
  Activations a;
  a.chars.reserve(u.size());
  for (char32_t ch : u) a.chars.push_back(data::utf8_encode(std::u32string(1, ch)));
  NoGradGuard ng;
  m.eval();
  const int64_t N1 = static_cast<int64_t>(ids.size());
  RNN rnn = m.rnn();  // a copy sharing the weights and packed panels: the probe is this call's alone
  auto probe = std::make_shared<GradProbe>();
  probe->keep_states = true;  // the forward's own h, gates and c of every layer (nn/rnn_probe.h)
  rnn.set_grad_probe(probe);
  const Var x = embedding(m.parameter("embedding.weight"), ids, {N1, 1});  // [N+1, 1, E]
  const Var y = rnn.forward(x).output;                                      // [N+1, 1, R_last]
  for (size_t l = 0; l < rnn.options().layers.size(); ++l) {
    const LayerSpec& spec = rnn.options().layers[l];
    const GradProbe::Dir& d = probe->layers.at(l).at(0);
    RC_CHECK(d.h.defined(), "model", "the recurrent engine kept no states of layer ", l, " (the reference engine?)");
    LayerActivations la;
    la.cell = cell_name(spec.cell);
    la.size = spec.out_size();
    la.kinds["h"] = columns(d.h, 0);
    const int64_t H = spec.hidden, N = N1 - 1;
    if (spec.proj == 0 && spec.cell == CellType::lstm) {  // c and the gates i, f, o (g is tanh of a candidate)
      la.kinds["c"] = columns(d.c, 0);
      for (const char* g : {"i", "f", "o"}) la.kinds[g] = columns(d.gate_acts, gate_index(d, g) * H);
      a.gate_check = std::max(a.gate_check, lstm_check(la.kinds["o"], la.kinds["c"], la.kinds["h"], N, H));
    } else if (spec.proj == 0 && spec.cell == CellType::gru) {
      for (const char* g : {"r", "z"}) la.kinds[g] = columns(d.gate_acts, gate_index(d, g) * H);
      const Rows n = columns(d.gate_acts, gate_index(d, "n") * H);
      a.gate_check = std::max(a.gate_check, gru_check(la.kinds["z"], n, la.kinds["h"], d.h.data(), N, H));
    }
    a.layers.push_back(std::move(la));
  }
  const Var dec = m.config().tie_weights ? m.parameter("embedding.weight") : m.parameter("decoder.weight");
  const Tensor lp = log_softmax(linear(y, dec, m.parameter("decoder.bias"))).value().contiguous();  // [N+1, 1, V]
  const int64_t V = lp.size(2);
  for (size_t k = 0; k + 1 < ids.size(); ++k) a.prob.push_back(std::exp(lp.data()[k * V + ids[k + 1]]));
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

}  // namespace recurrent::explore
