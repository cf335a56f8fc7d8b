// Per-unit activations of a character LM over a text (contract in explore/activations.h).
#include "explore/activations.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"

namespace recurrent::explore {

namespace {

float sigm(float x) { return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x)); }

// A one-layer RNN whose parameters are layer l's of `full` (shared Vars, not copies).
std::shared_ptr<RNN> layer_rnn(const RNN& full, size_t l, int64_t input_size) {
  RNNOptions o;
  o.input_size = input_size;
  o.layers = {full.options().layers[l]};
  o.precision = full.options().precision;
  Rng rng(0);
  auto r = std::make_shared<RNN>(o, rng);
  const std::string from = "_l0", to = "_l" + std::to_string(l);
  for (auto& [name, v] : r->named_parameters()) {
    std::string src = name;
    src.replace(src.rfind(from), from.size(), to);
    r->replace_parameter(name, full.parameter(src));
  }
  r->eval();
  return r;
}

// Pre-activations of the gates from both sides: ih [N', G·H] = W_ih x + b_ih, hh [N', G·H] = W_hh h_{t-1} + b_hh.
struct Pre {
  Tensor ih, hh;
};
Pre pre_activations(const RNN& full, size_t l, const Var& x, const Tensor& h) {
  // x: [N', 1, I], h: [N', 1, H] the layer's outputs → h_prev [N', 1, H] (zeros first)
  const int64_t N = h.size(0), H = h.size(2);
  Tensor hp({N, 1, H});
  std::copy_n(h.data(), (N - 1) * H, hp.data() + H);
  Pre p;
  p.ih = linear(x, full.param("weight_ih", l, 0), full.param("bias_ih", l, 0)).value().contiguous();
  p.hh = linear(Var(hp), full.param("weight_hh", l, 0), full.param("bias_hh", l, 0)).value().contiguous();
  return p;
}

// LSTM gates i, f, g, o (PyTorch order) → c, i, f, o rows; returns max |o tanh(c) − h|.
double lstm_kinds(const Pre& p, const Tensor& h, LayerActivations& out) {
  const int64_t N = h.size(0), H = h.size(2);
  for (const char* k : {"c", "i", "f", "o"}) out.kinds[k].assign(static_cast<size_t>(N * H), 0.0f);
  float *c = out.kinds["c"].data(), *ig = out.kinds["i"].data(), *fg = out.kinds["f"].data(), *og = out.kinds["o"].data();
  const float *a = p.ih.data(), *b = p.hh.data(), *hv = h.data();
  double worst = 0.0;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t u = 0; u < H; ++u) {
      const int64_t r = t * 4 * H;
      auto gate = [&](int64_t g) { return a[r + g * H + u] + b[r + g * H + u]; };
      const float i = sigm(gate(0)), f = sigm(gate(1)), g = std::tanh(gate(2)), o = sigm(gate(3));
      const float prev = t > 0 ? c[(t - 1) * H + u] : 0.0f;
      const int64_t k = t * H + u;
      c[k] = f * prev + i * g, ig[k] = i, fg[k] = f, og[k] = o;
      worst = std::max(worst, static_cast<double>(std::fabs(o * std::tanh(c[k]) - hv[k])));
    }
  return worst;
}

// PyTorch GRU gates r, z, n: h_t = (1 − z) n + z h_{t-1}, n = tanh(a_n + r (W_hn h + b_hn)) → r, z rows.
double gru_kinds(const Pre& p, const Tensor& h, LayerActivations& out) {
  const int64_t N = h.size(0), H = h.size(2);
  for (const char* k : {"r", "z"}) out.kinds[k].assign(static_cast<size_t>(N * H), 0.0f);
  float *rg = out.kinds["r"].data(), *zg = out.kinds["z"].data();
  const float *a = p.ih.data(), *b = p.hh.data(), *hv = h.data();
  double worst = 0.0;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t u = 0; u < H; ++u) {
      const int64_t row = t * 3 * H, k = t * H + u;
      const float r = sigm(a[row + u] + b[row + u]), z = sigm(a[row + H + u] + b[row + H + u]);
      const float n = std::tanh(a[row + 2 * H + u] + r * b[row + 2 * H + u]);
      const float prev = t > 0 ? hv[k - H] : 0.0f;
      rg[k] = r, zg[k] = z;
      worst = std::max(worst, static_cast<double>(std::fabs((1 - z) * n + z * prev - hv[k])));
    }
  return worst;
}

// Rows 1..N' of an [N', 1, H] tensor (row 0 is the start token's step) → [N, H].
std::vector<float> drop_first(const Tensor& t) {
  const int64_t N = t.size(0), H = t.size(2);
  return std::vector<float>(t.data() + H, t.data() + N * H);
}

}  // namespace

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
  for (char32_t ch : u) a.chars.push_back(data::utf8_encode(std::u32string(1, ch)));
  NoGradGuard ng;
  m.eval();
  const int64_t N1 = static_cast<int64_t>(ids.size());
  const RNN& full = m.rnn();
  Var x = embedding(m.parameter("embedding.weight"), ids, {N1, 1});  // [N+1, 1, E]
  for (size_t l = 0; l < full.options().layers.size(); ++l) {
    const LayerSpec& spec = full.options().layers[l];
    auto r = layer_rnn(full, l, x.value().size(2));
    Var y = r->forward(x).output;  // [N+1, 1, R_l]

    LayerActivations la;
    la.cell = cell_name(spec.cell);
    la.size = spec.out_size();
    Tensor h = y.value().contiguous();
    la.kinds["h"] = drop_first(h);
    const bool plain = spec.proj == 0 && (spec.cell == CellType::lstm || spec.cell == CellType::gru);
    if (plain) {
      const Pre p = pre_activations(full, l, x, h);
      const double err = spec.cell == CellType::lstm ? lstm_kinds(p, h, la) : gru_kinds(p, h, la);
      a.gate_check = std::max(a.gate_check, err);
      for (auto& [k, rows] : la.kinds)
        if (k != "h") rows.erase(rows.begin(), rows.begin() + spec.hidden);  // the start token's step
    }
    a.layers.push_back(std::move(la));
    x = y;
  }
  const Var dec = m.config().tie_weights ? m.parameter("embedding.weight") : m.parameter("decoder.weight");
  const Tensor lp = log_softmax(linear(x, dec, m.parameter("decoder.bias"))).value().contiguous();  // [N+1, 1, V]
  const int64_t V = lp.size(2);
  for (size_t k = 0; k + 1 < ids.size(); ++k) a.prob.push_back(std::exp(lp.data()[k * V + ids[k + 1]]));
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

}  // namespace recurrent::explore
