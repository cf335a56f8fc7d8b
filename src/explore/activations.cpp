// Per-unit activations of a character LM over a text (contract in explore/activations.h).
#include "explore/activations.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/utf8.h"
#include "recurrent/kernels/activations.h"
#include "recurrent/nn/rnn_probe.h"

namespace recurrent::explore {

namespace {

int64_t gate_index(const GradProbe::Dir& d, const char* name) {
  for (size_t g = 0; g < d.gates.size(); ++g)
    if (d.gates[g] == name) return static_cast<int64_t>(g);
  throw Error("model", std::string("the layer has no gate ") + name);
}

}  // namespace

// Layer l of the stack as a one-layer RNN over inputs of `in` features, sharing the stack's weights and buffers
// (kind_l{l} → kind_l0; character LMs are unidirectional), in evaluation mode.
static RNN layer_rnn(const RNN& stack, size_t l, int64_t in) {
  RNNOptions o = stack.options();
  o.input_size = in;
  o.layers = {o.layers[l]};
  o.dropout = 0.0f;
  Rng rng(1);
  RNN r(o, rng);
  for (const auto& [name, v] : r.named_parameters()) {
    const size_t at = name.rfind("_l0");
    RC_CHECK(at != std::string::npos && at + 3 == name.size(), "model", "unexpected recurrent parameter ", name);
    r.replace_parameter(name, stack.parameter(name.substr(0, at) + "_l" + std::to_string(l)));
  }
  for (const auto& [name, b] : r.named_buffers()) {  // lstm_bn's population statistics
    const size_t at = name.rfind("_l0");
    RC_CHECK(at != std::string::npos && at + 3 == name.size(), "model", "unexpected recurrent buffer ", name);
    const Tensor* from = stack.find_buffer(name.substr(0, at) + "_l" + std::to_string(l));
    RC_CHECK(from != nullptr, "model", "missing recurrent buffer ", name.substr(0, at), "_l", l);
    r.set_buffer(name, *from);
  }
  r.eval();  // inference: population statistics, zoneout's expectation
  return r;
}

std::vector<RNN> layer_rnns(const RNN& stack) {
  std::vector<RNN> out;
  int64_t in = stack.options().input_size;
  for (size_t l = 0; l < stack.options().layers.size(); ++l) {
    out.push_back(layer_rnn(stack, l, in));
    in = stack.options().layer_output_size(l);
  }
  return out;
}

namespace {

// One layer's part of the reading: its one-layer RNN (a probe keeping the forward's states), the state carried
// from chunk to chunk, and the rows it fills.
struct Stage {
  explicit Stage(RNN r) : rnn(std::move(r)) {}
  RNN rnn;
  std::shared_ptr<GradProbe> probe = std::make_shared<GradProbe>();
  RNNState state;  // empty: zeros (the first chunk)
  LayerActivations* out = nullptr;
  double check = 0.0;  // max |o tanh(c) − h| (LSTM) or |(1 − z) n + z h_{t−1} − h| (GRU) over its steps

  // x: [C, 1, I], the steps s0 … s0+C−1 of the N+1 (step 0 reads the start token; row s−1 holds step s).
  // Returns the layer's output [C, 1, R].
  Var run(const Var& x, int64_t s0);
};

// Copies columns [c0, c0 + n) of rows j0.. of src [C, 1, W] to rows r0.. of dst [N, n].
void copy_rows(const Tensor& src, int64_t c0, int64_t n, int64_t j0, int64_t rows, Tensor dst, int64_t r0) {
  const int64_t W = src.size(2);
  for (int64_t j = 0; j < rows; ++j)
    std::copy_n(src.data() + (j0 + j) * W + c0, n, dst.data() + (r0 + j) * n);
}

Var Stage::run(const Var& x, int64_t s0) {
  const Tensor h_before = state.h.empty() ? Tensor() : state.h[0].value();
  RNNOutput y = rnn.forward(x, {}, state);
  state = y.final_state;
  const GradProbe::Dir& d = probe->layers.at(0).at(0);
  RC_CHECK(d.h.defined(), "model", "the recurrent engine kept no states (the reference engine?)");
  const int64_t C = x.value().size(0), j0 = s0 == 0 ? 1 : 0, rows = C - j0, r0 = s0 + j0 - 1;
  const LayerSpec& spec = rnn.options().layers[0];
  const int64_t H = spec.hidden;
  auto copy_kind = [&](const Tensor& src, int64_t c0, int64_t n, const char* kind) {  // when kept
    auto it = out->kinds.find(kind);
    if (it != out->kinds.end()) copy_rows(src, c0, n, j0, rows, it->second.owner, r0);
  };
  copy_kind(d.h, 0, out->size, "h");
  const std::vector<std::string>& names = out->names;
  const int64_t W = d.gate_acts.defined() ? d.gate_acts.size(2) : 0;
  if (std::find(names.begin(), names.end(), "c") != names.end()) {  // a plain LSTM: c, i, f, o
    copy_kind(d.c, 0, H, "c");
    for (const char* g : {"i", "f", "o"}) copy_kind(d.gate_acts, gate_index(d, g) * H, H, g);
    std::vector<float> tc(static_cast<size_t>(H));
    const int64_t oc = gate_index(d, "o") * H;
    for (int64_t j = j0; j < C; ++j) {  // from the engine's rows (the same numbers, kept or not)
      const float *o = d.gate_acts.data() + j * W + oc, *h = d.h.data() + j * H;
      tanh_vec(d.c.data() + j * H, tc.data(), H);
      for (int64_t u = 0; u < H; ++u) check = std::max(check, static_cast<double>(std::fabs(o[u] * tc[u] - h[u])));
    }
  } else if (std::find(names.begin(), names.end(), "z") != names.end()) {  // a GRU: r, z; checked with n and h_{t−1}
    for (const char* g : {"r", "z"}) copy_kind(d.gate_acts, gate_index(d, g) * H, H, g);
    const int64_t nc = gate_index(d, "n") * H, zc = gate_index(d, "z") * H;
    for (int64_t j = j0; j < C; ++j) {
      const float* prev = j > 0 ? d.h.data() + (j - 1) * H : (h_before.defined() ? h_before.data() : nullptr);
      const float *g = d.gate_acts.data() + j * W, *ht = d.h.data() + j * H;
      for (int64_t u = 0; u < H; ++u) {
        const float hp = prev ? prev[u] : 0.0f;
        check = std::max(check, static_cast<double>(std::fabs((1 - g[zc + u]) * g[nc + u] + g[zc + u] * hp - ht[u])));
      }
    }
  }
  return y.output;
}

// The kinds a layer shows, and the rows [N, size] of those kept (all, or with gates = false h and c; filled by
// Stage::run).
LayerActivations layer_rows(const LayerSpec& spec, int64_t N, bool gates) {
  LayerActivations la;
  la.cell = cell_name(spec.cell);
  la.size = spec.out_size();
  la.names = {"h"};
  if (spec.proj == 0 && spec.cell == CellType::lstm) la.names = {"h", "c", "i", "f", "o"};
  else if (spec.proj == 0 && spec.cell == CellType::gru) la.names = {"h", "r", "z"};
  for (const std::string& k : la.names) {
    if (!gates && k != "h" && k != "c") continue;
    const Tensor t = Tensor::uninitialized({N, k == "h" ? la.size : spec.hidden});
    la.kinds[k] = Rows{t, t.data(), t.size(1)};
  }
  return la;
}

}  // namespace

Rows Rows::of(std::vector<float> values, int64_t ld) {
  const int64_t n = static_cast<int64_t>(values.size());
  Tensor t = Tensor::from(std::move(values), {n});
  return {t, t.data(), ld};
}

namespace {

// The reading, chunk by chunk: thread t of `groups.size()` runs the layers of groups[t] over each chunk in
// turn, after thread t − 1 has run its layers over that chunk (a pipeline: with a thread per layer, layer 1
// reads chunk k while layer 0 reads chunk k + 1). The last group also scores each step's next character.
struct Pipeline {
  tasks::LanguageModel& m;
  const std::vector<int64_t>& ids;
  int64_t chunk;
  std::vector<Stage>& stages;
  std::vector<std::pair<size_t, size_t>> groups;  // [first, last) layers of each thread
  std::vector<float>& prob;
  std::vector<std::vector<Var>> handoff;  // [thread][chunk]: its last layer's output
  std::vector<int64_t> done;              // chunks each thread has finished
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr error;

  void thread(size_t t);
  void score(const Var& y, int64_t s0);
};

void Pipeline::score(const Var& y, int64_t s0) {  // prob[s] = P(ids[s+1] | steps ≤ s)
  const Var dec = m.config().tie_weights ? m.parameter("embedding.weight") : m.parameter("decoder.weight");
  const Tensor lp = log_softmax(linear(y, dec, m.parameter("decoder.bias"))).value().contiguous();  // [C, 1, V]
  const int64_t V = lp.size(2), N = static_cast<int64_t>(ids.size()) - 1;
  for (int64_t j = 0; j < lp.size(0) && s0 + j < N; ++j) prob[s0 + j] = std::exp(lp.data()[j * V + ids[s0 + j + 1]]);
}

void Pipeline::thread(size_t t) {
  NoGradGuard ng;  // per thread
  const int64_t N1 = static_cast<int64_t>(ids.size()), K = (N1 + chunk - 1) / chunk;
  try {
    for (int64_t k = 0; k < K; ++k) {
      const int64_t s0 = k * chunk, C = std::min(chunk, N1 - s0);
      Var x;
      if (t == 0) {
        x = embedding(m.parameter("embedding.weight"), std::vector<int64_t>(ids.begin() + s0, ids.begin() + s0 + C), {C, 1});
      } else {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return done[t - 1] > k || error; });
        if (error) return;
        x = std::move(handoff[t - 1][static_cast<size_t>(k)]);
      }
      for (size_t l = groups[t].first; l < groups[t].second; ++l) x = stages[l].run(x, s0);
      if (t + 1 == groups.size()) score(x, s0);
      std::lock_guard<std::mutex> l(mu);
      if (t + 1 < groups.size()) handoff[t][static_cast<size_t>(k)] = x;
      done[t] = k + 1;
      cv.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> l(mu);
    if (!error) error = std::current_exception();
    cv.notify_all();
  }
}

}  // namespace

Activations compute_activations(tasks::LanguageModel& m, const std::string& text, int64_t max_chars, int64_t chunk,
                                const std::vector<RNN>* layers, bool gates) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::Vocab& v = m.vocab();
  RC_CHECK(v.level() == data::TokenLevel::chars, "model", "the Cells view reads character-level models; this one is word level");
  const std::u32string u = data::utf8_decode(text, "text");
  RC_CHECK(!u.empty(), "text", "expected some text, got none");
  RC_CHECK(static_cast<int64_t>(u.size()) <= max_chars, "text", "expected at most ", max_chars, " characters, got ", u.size());
  RC_CHECK(chunk >= 1, "chunk", "expected a positive chunk length, got ", chunk);
  const std::vector<int64_t> ids = tasks::sample_prime_ids(v, text, "text");
  RC_CHECK(ids.size() == u.size() + 1, "text", "the model's vocabulary split this text unexpectedly");
  Activations a;
  a.gates = gates;
  a.chars.reserve(u.size());
  for (char32_t ch : u) a.chars.push_back(data::utf8_encode(std::u32string(1, ch)));
  m.eval();
  const RNN& stack = m.rnn();
  const size_t L = stack.options().layers.size();
  const int64_t N = static_cast<int64_t>(u.size());
  a.layers.reserve(L);
  const std::vector<RNN> built = layers ? std::vector<RNN>() : layer_rnns(stack);
  if (!layers) layers = &built;
  RC_CHECK(layers->size() == L, "model", "expected ", L, " layer RNNs, got ", layers->size());
  std::vector<Stage> stages;
  for (size_t l = 0; l < L; ++l) {
    a.layers.push_back(layer_rows(stack.options().layers[l], N, gates));
    stages.emplace_back((*layers)[l]);  // a copy sharing the weights and packed panels: the probe is this call's
    stages.back().rnn.set_grad_probe(stages.back().probe);
    stages.back().probe->keep_states = true;  // the forward's own h, gates and c (nn/rnn_probe.h)
    stages.back().out = &a.layers.back();
  }
  a.prob.assign(static_cast<size_t>(N), 0.0f);
  // Threads: one per group of consecutive layers, at most num_threads() (core/threads.h) and one per layer.
  const size_t nt = std::min<size_t>(L, static_cast<size_t>(std::max(1, num_threads())));
  Pipeline p{m, ids, chunk, stages, {}, a.prob, std::vector<std::vector<Var>>(nt), std::vector<int64_t>(nt, 0), {}, {}, {}};
  for (size_t t = 0; t < nt; ++t) {
    p.groups.push_back({L * t / nt, L * (t + 1) / nt});
    p.handoff[t].resize(static_cast<size_t>((ids.size() + chunk - 1) / chunk));
  }
  if (nt == 1) {
    p.thread(0);
  } else {  // each thread's engine calls nest inside this region: they run on that one thread (nn/rnn_fused.h)
#pragma omp parallel num_threads(static_cast<int>(nt))
    p.thread(static_cast<size_t>(omp_get_thread_num()));
  }
  if (p.error) std::rethrow_exception(p.error);
  for (const Stage& s : stages) a.gate_check = std::max(a.gate_check, s.check);
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

}  // namespace recurrent::explore
