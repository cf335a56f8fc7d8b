// RNN stack module: parameters, per-layer tape ops, bidirectional merge, dropout, batch-first.
// Contract: include/recurrent/nn/rnn.h. The per-direction math is in rnn_direction.cpp.
#include "recurrent/nn/rnn.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "nn/cell.h"
#include "nn/rnn_bn_stats.h"
#include "nn/rnn_direction.h"
#include "nn/rnn_panel_cache.h"
#include "recurrent/autograd/multi_output.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"

namespace recurrent {

namespace {

constexpr const char* kKinds[] = {"weight_ih", "weight_hh",    "bias_ih",      "bias_hh",     "weight_hr",
                                   "weight_ch", "lambda",       "ln_weight_ih", "ln_weight_hh", "ln_weight_c",
                                   "ln_bias_c", "bn_weight_ih", "bn_weight_hh", "bn_weight_c", "bn_bias_c"};
// The norms' parameter of kind k (ln_weight_ih ... ln_bias_c, 7..10), or lstm_bn's of the same role (11..14).
const float* norm_param(const float* const* ptrs, int k) { return ptrs[k] ? ptrs[k] : ptrs[k + 4]; }
float* norm_param(float* const* ptrs, int k) { return ptrs[k] ? ptrs[k] : ptrs[k + 4]; }
constexpr int kNumKinds = sizeof(kKinds) / sizeof(kKinds[0]);

// Everything one layer's op needs, captured by its backward closure.
struct LayerCall {
  rnn::DirShape shape[2];
  rnn::DirParams params[2];
  std::vector<Tensor> param_values;    // keeps the weights alive; order matches param_index
  int param_index[2][kNumKinds];       // input index of each kind per direction, -1 when absent
  int h0_index = -1, c0_index = -1;
  int D = 1;
  bool sum = false;
  bool reference = false;              // which engine ran forward (backward must match)
  Tensor x;                            // [T, B, I] contiguous
  std::vector<uint8_t> valid;
  std::vector<rnn::DirTape> tapes;
  Tensor rmask[2];                     // recurrent dropout [B, R] per direction (training), else undefined
  Tensor zmask[2];  // zoneout [T, B, H] bytes per direction (training; ⌈T·B·H/4⌉ floats of the storage cache, so no
                    // page faults and clearing per call), else undefined
  rnn::BnRunning bn_running[2];     // lstm_bn in evaluation: the population statistics per direction
  std::vector<Tensor> bn_keep;      // ... whose tensors they point into
};

std::atomic<RnnEngine> g_engine{RnnEngine::fast};

}  // namespace

void set_rnn_engine(RnnEngine e) { g_engine = e; }
RnnEngine rnn_engine() { return g_engine; }

std::string RNN::param_name(const char* kind, size_t layer, int dir) {
  return std::string(kind) + "_l" + std::to_string(layer) + (dir ? "_reverse" : "");
}

RNN::RNN(RNNOptions opts, Rng& rng) : opts_(std::move(opts)), dropout_rng_(rng.fork(0x64726f70)) {
  opts_.validate();
  int64_t in = opts_.input_size;
  for (size_t l = 0; l < opts_.layers.size(); ++l) {
    const LayerSpec& s = opts_.layers[l];
    const int64_t G = gate_count(s.cell), H = s.hidden, R = s.out_size();
    const float k = 1.0f / std::sqrt(static_cast<float>(H));  // PyTorch: U(-1/√H, 1/√H)
    for (int d = 0; d < opts_.directions(); ++d) {
      auto add = [&](const char* kind, Shape shape) {
        Tensor t(std::move(shape));
        rng.fill_uniform(t, -k, k);
        register_parameter(param_name(kind, l, d), t);
      };
      const rnn::Cell& cell = rnn::cell_of(s.cell);
      add("weight_ih", {G * H, in});
      if (!cell.scan) add("weight_hh", {G * H, R});  // scan cells: gates from x only, no W_hh, no b_hh
      if (opts_.bias) {
        add("bias_ih", {G * H});
        if (!cell.scan) add("bias_hh", {G * H});
      }
      if (cell.decay) {  // RG-LRU's Λ: a = σ(Λ) with a^c ~ U(0.9, 0.999) (Griffin's initialisation), c = 8
        Tensor lam({H});
        for (int64_t j = 0; j < H; ++j) {
          const double a = std::pow(static_cast<double>(rng.uniform(0.9f, 0.999f)), 1.0 / 8.0);
          lam.data()[j] = static_cast<float>(std::log(a / (1.0 - a)));
        }
        register_parameter(param_name("lambda", l, d), lam);
      }
      if (s.proj > 0) add("weight_hr", {s.proj, H});
      if (rnn::cell_of(s.cell).peephole) add("weight_ch", {3, H});
      if (is_layer_norm(s.cell)) {  // gains 1, the c-norm's bias 0 (not drawn: the other weights stay as they were)
        auto constant = [&](const char* kind, Shape shape, float v) {
          Tensor t(std::move(shape));
          t.fill_(v);
          register_parameter(param_name(kind, l, d), t);
        };
        constant("ln_weight_ih", {G * H}, 1.0f);
        constant("ln_weight_hh", {G * H}, 1.0f);
        if (rnn::cell_of(s.cell).cell_state) {
          constant("ln_weight_c", {H}, 1.0f);
          constant("ln_bias_c", {H}, 0.0f);
        }
      }
      if (is_batch_norm(s.cell)) {  // γ 0.1, β_c 0 (Cooijmans et al. 2016, §4: γ = 1 saturates, vanishing gradients)
        auto constant = [&](const char* kind, Shape shape, float v) {
          Tensor t(std::move(shape));
          t.fill_(v);
          register_parameter(param_name(kind, l, d), t);
        };
        constant("bn_weight_ih", {G * H}, 0.1f);
        constant("bn_weight_hh", {G * H}, 0.1f);
        constant("bn_weight_c", {H}, 0.1f);
        constant("bn_bias_c", {H}, 0.0f);
        for (int k = 0; k < 6; ++k)  // running statistics (rnn_bn_stats.h)
          register_buffer(param_name(rnn::kBnBufferKinds[k], l, d), rnn::bn_initial_buffer(k, G * H, H));
      }
      panel_caches_.push_back(std::make_shared<rnn::PanelCache>());
    }
    in = opts_.layer_output_size(l);
  }
}

rnn::PanelCache* RNN::panel_cache(size_t layer, int dir) const {
  const size_t i = layer * static_cast<size_t>(opts_.directions()) + static_cast<size_t>(dir);
  return panel_caching_ && i < panel_caches_.size() ? panel_caches_[i].get() : nullptr;
}

PanelCacheStats RNN::panel_cache_stats() const {
  PanelCacheStats st;
  for (const auto& c : panel_caches_) {
    st.hits += c->hits();
    st.misses += c->misses();
  }
  return st;
}

void RNN::set_panel_caching(bool on) {
  panel_caching_ = on;
  if (!on)
    for (const auto& c : panel_caches_) c->clear();
}

// Per call (11 kinds per layer and direction): no allocation, and no snprintf (libc's formatter is a lot of code
// for a B = 1 call to bring back into the caches: recurrent.torch's per-call overhead, docs/python.md).
Var RNN::param(const char* kind, size_t layer, int dir) const {
  char name[64];
  const size_t k = std::strlen(kind);
  const Var* v = nullptr;
  if (k + 2 + 20 + 8 <= sizeof name) {  // kind, "_l", the layer's digits, "_reverse"
    char digits[20];
    size_t nd = 0;
    do digits[nd++] = static_cast<char>('0' + layer % 10); while ((layer /= 10) > 0);
    size_t n = k;
    std::memcpy(name, kind, k);
    name[n++] = '_', name[n++] = 'l';
    while (nd > 0) name[n++] = digits[--nd];
    if (dir) std::memcpy(name + n, "_reverse", 8), n += 8;
    v = find_parameter(std::string_view(name, n));
  } else {
    v = find_parameter(param_name(kind, layer, dir));
  }
  return v ? *v : Var();
}

// The parameters of layer l, direction d: their Vars appended to inputs (call.param_index), their values,
// raw pointers and stamps into call.params.
static void bind_params(const RNN& rnn, size_t l, int d, LayerCall& call, std::vector<Var>& inputs) {
  const float* ptrs[kNumKinds] = {};
  rnn::WeightStamp stamps[kNumKinds] = {};
  for (int k = 0; k < kNumKinds; ++k) {
    const Var p = rnn.param(kKinds[k], l, d);
    call.param_index[d][k] = -1;
    if (!p.defined()) continue;
    call.param_index[d][k] = static_cast<int>(inputs.size());
    inputs.push_back(p);
    call.param_values.push_back(p.value());
    // Read access only: a non-const data() would bump the weight's version (tensor.h) and so
    // invalidate the packed panels it keys.
    const Tensor& w = p.value();
    ptrs[k] = w.data();
    stamps[k] = rnn::WeightStamp::of(w);
  }
  call.params[d] = {ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5]};
  call.params[d].cache = rnn.panel_cache(l, d);
  call.params[d].ln_ih = norm_param(ptrs, 7), call.params[d].ln_hh = norm_param(ptrs, 8);
  call.params[d].ln_c = norm_param(ptrs, 9), call.params[d].ln_cb = norm_param(ptrs, 10);
  call.params[d].s_ih = stamps[0];
  call.params[d].s_hh = stamps[1];
  call.params[d].s_hr = stamps[4];
  call.params[d].lambda = ptrs[6];
}

// The layer op's backward: both directions' BPTT (the probe's per-step norms too), then dh0 / dc0.
static void layer_backward(const std::shared_ptr<LayerCall>& call, int64_t ycols, bool lstm,
                           const std::shared_ptr<GradProbe>& probe, size_t l, const std::vector<Tensor>& g, Node& hub) {
  const int64_t B = call->shape[0].B, R = call->shape[0].R, H = call->shape[0].H;
  float* dx = needs_grad(hub, 0) ? grad_buffer(*hub.inputs[0]).data() : nullptr;
  Tensor dh0 = call->h0_index >= 0 && needs_grad(hub, call->h0_index) ? Tensor({call->D, B, R}) : Tensor();
  Tensor dc0 = call->c0_index >= 0 && needs_grad(hub, call->c0_index) ? Tensor({call->D, B, H}) : Tensor();
  for (int d = 0; d < call->D; ++d) {
    float* gp[kNumKinds] = {};
    for (int k = 0; k < kNumKinds; ++k) {
      int idx = call->param_index[d][k];
      if (idx >= 0 && needs_grad(hub, idx)) gp[k] = grad_buffer(*hub.inputs[idx]).data();
    }
    rnn::DirGrads grads{gp[0], gp[1], gp[2], gp[3], gp[4], gp[5]};
    grads.lambda = gp[6];
    grads.ln_ih = norm_param(gp, 7), grads.ln_hh = norm_param(gp, 8);
    grads.ln_c = norm_param(gp, 9), grads.ln_cb = norm_param(gp, 10);
    if (probe) {  // the probe's buffers for this backward: [T, B] per direction
      GradProbe::Dir& pd = probe->layers[l][d];
      pd.dh = Tensor({call->shape[d].T, B});
      pd.dc = lstm ? Tensor({call->shape[d].T, B}) : Tensor();
      grads.dh_norm = pd.dh.data();
      grads.dc_norm = lstm ? pd.dc.data() : nullptr;
    }
    (call->reference ? rnn::reference_backward : rnn::backward)(call->shape[d], call->params[d], call->x.data(), call->tapes[d],
                  g[0].data() + (call->sum ? 0 : d * R), ycols, g[1].data() + d * B * R,
                  lstm ? g[2].data() + d * B * H : nullptr, dx, dh0.defined() ? dh0.data() + d * B * R : nullptr,
                  dc0.defined() ? dc0.data() + d * B * H : nullptr, grads);
  }
  if (dh0.defined()) accumulate_grad(*hub.inputs[call->h0_index], dh0);
  if (dc0.defined()) accumulate_grad(*hub.inputs[call->c0_index], dc0);
  call->tapes.clear();
}

// One layer, both directions, as one tape op with outputs (y, h_n, c_n).
// The layer's recurrent dropout and zoneout masks (LayerSpec) of direction d, drawn from rng in training
// (null rng: evaluation, no dropout and zoneout's expectation), into call's params.
// fixed: RNN::set_recurrent_masks' tensor for this layer and direction, or undefined.
static void draw_masks(const LayerSpec& spec, int d, Rng* rng, const Tensor& fixed_r, const Tensor& fixed_z,
                       LayerCall& call) {
  const rnn::DirShape& s = call.shape[d];
  rnn::DirParams& p = call.params[d];
  p.zoneout = spec.zoneout;
  if (!rng) return;
  if (spec.recurrent_dropout > 0.0f) {
    if (fixed_r.defined()) {
      RC_CHECK(fixed_r.shape() == Shape({s.B, s.R}), "set_recurrent_masks", "rmask: expected shape ",
               shape_str({s.B, s.R}), ", got ", shape_str(fixed_r.shape()));
      call.rmask[d] = fixed_r.contiguous();
    } else {
      call.rmask[d] = Tensor::uninitialized({s.B, s.R});
      rnn::draw_dropout_mask(*rng, spec.recurrent_dropout, s.B * s.R, call.rmask[d].data());
    }
    p.rmask = call.rmask[d].data();
  }
  if (spec.zoneout > 0.0f) {
    const int64_t n = s.T * s.B * s.H;
    call.zmask[d] = Tensor::uninitialized({(n + 3) / 4});
    uint8_t* zm = reinterpret_cast<uint8_t*>(call.zmask[d].data());
    if (fixed_z.defined()) {
      RC_CHECK(fixed_z.shape() == Shape({s.T, s.B, s.H}), "set_recurrent_masks", "zmask: expected shape ",
               shape_str({s.T, s.B, s.H}), ", got ", shape_str(fixed_z.shape()));
      const Tensor z = fixed_z.contiguous();
      for (int64_t i = 0; i < n; ++i) zm[i] = z.data()[i] != 0.0f;
    } else {
      rnn::draw_zoneout_mask(*rng, spec.zoneout, n, zm);
    }
    p.zmask = zm;
  }
}

// lstm_bn: evaluation normalises with the population statistics (the model's buffers, nn/rnn_bn_stats.h); training
// normalises with the batch's own, which one row does not have. A batch of one row is refused while the statistics
// are still fresh (`--batch 1`, or a first batch of one); after batches of two or more, a one-row batch (an epoch's
// last) trains as a step with one valid row does: its features normalise to 0 and the statistics stay as they are.
static void bind_batch_norm(const RNN& rnn, size_t l, int d, int64_t H, int64_t B, LayerCall& call) {
  if (rnn.is_training() && B == 1) {
    const Tensor* m = rnn.find_buffer(RNN::param_name("bn_running_mean_ih", l, d));
    bool fresh = m == nullptr || m->size(0) == 1;
    if (fresh && m) {
      const Tensor mc = m->contiguous();
      for (int64_t j = 0; j < mc.numel() && fresh; ++j) fresh = mc.data()[j] == 0.0f;
    }
    RC_CHECK(!fresh, "--batch", "lstm_bn (layer ", l, ") trains on the batch's own statistics, which one sequence "
             "does not have (as torch.nn.BatchNorm1d says): use batches of 2 or more (evaluation takes any size)");
  }
  if (rnn.is_training()) return;
  call.bn_running[d] = rnn::bn_running_of(rnn, l, d, 4 * H, H, call.bn_keep);
  call.params[d].bn_running = &call.bn_running[d];
}

static std::vector<Var> run_layer(RNN& rnn, size_t l, const Var& x, const std::vector<uint8_t>& valid,
                                  const Var& h0, const Var& c0, int64_t& tape_bytes, Rng* mask_rng) {
  const RNNOptions& o = rnn.options();
  const LayerSpec& spec = o.layers[l];
  auto call = std::make_shared<LayerCall>();
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = spec.hidden, R = spec.out_size();
  const bool lstm = rnn::cell_of(spec.cell).cell_state;  // carries c beside h
  call->D = o.directions();
  call->sum = o.bidirectional && o.merge == BidirMerge::sum;
  call->x = x.value();
  call->valid = valid;
  std::vector<Var> inputs{x};
  const EngineConfig engine = rnn::resolve_engine(o.engine);  // the model's choices over the process default
  for (int d = 0; d < call->D; ++d) {
    call->shape[d] = {spec.cell, T, B, I, H, R, d == 1, o.precision, engine};
    bind_params(rnn, l, d, *call, inputs);
    const size_t k = l * static_cast<size_t>(call->D) + static_cast<size_t>(d);
    const auto pick = [k](const std::vector<Tensor>& v) { return k < v.size() ? v[k] : Tensor(); };
    draw_masks(spec, d, mask_rng, pick(rnn.fixed_rmask()), pick(rnn.fixed_zmask()), *call);
    if (is_batch_norm(spec.cell)) bind_batch_norm(rnn, l, d, H, B, *call);
  }
  if (h0.defined()) {
    call->h0_index = static_cast<int>(inputs.size());
    inputs.push_back(h0);
  }
  if (c0.defined() && lstm) {
    call->c0_index = static_cast<int>(inputs.size());
    inputs.push_back(c0);
  }
  const int64_t ycols = call->sum ? R : call->D * R;
  // Every engine writes every element of y (h_t, or 0 on padded steps; the sum-merge's second
  // direction adds to what the first wrote): no need to zero T·B·ycols floats serially first.
  Tensor y = Tensor::uninitialized({T, B, ycols});
  Tensor hn({call->D, B, R}), cn = lstm ? Tensor({call->D, B, H}) : Tensor({0});
  Tensor h0v = h0.defined() ? h0.value().contiguous() : Tensor();
  Tensor c0v = c0.defined() && lstm ? c0.value().contiguous() : Tensor();
  call->tapes.resize(call->D);
  call->reference = g_engine == RnnEngine::reference;
  std::shared_ptr<GradProbe> probe = rnn.grad_probe();
  // Nobody will differentiate this call (grad mode off, or no input wants a gradient) and no probe
  // reads the tape: the engine may keep less (rnn::forward's keep_tape).
  bool keep_tape = probe != nullptr;
  for (const Var& v : inputs) keep_tape = keep_tape || (grad_enabled() && v.requires_grad());
  for (int d = 0; d < call->D; ++d) {
    const uint8_t* vd = valid.empty() ? nullptr : valid.data();
    const float* h0d = h0v.defined() ? h0v.data() + d * B * R : nullptr;
    const float* c0d = c0v.defined() ? c0v.data() + d * B * H : nullptr;
    float* yd = y.data() + (call->sum ? 0 : d * R);
    float* cnd = lstm ? cn.data() + d * B * H : nullptr;
    if (call->reference) {
      rnn::reference_forward(call->shape[d], call->params[d], call->x.data(), vd, h0d, c0d, yd, ycols, call->sum && d == 1,
                             hn.data() + d * B * R, cnd, call->tapes[d]);
    } else {
      rnn::forward(call->shape[d], call->params[d], call->x.data(), vd, h0d, c0d, yd, ycols, call->sum && d == 1,
                   hn.data() + d * B * R, cnd, call->tapes[d], keep_tape);
    }
    tape_bytes += call->tapes[d].bytes();
    if (call->tapes[d].bn_batch.defined())  // lstm_bn in training: move the running statistics (rnn_bn_stats.h)
      rnn::bn_update_running(rnn, l, d, gate_count(spec.cell) * H, H, call->tapes[d].bn_batch, valid, B);
  }
  if (probe) {
    probe->layers.resize(o.layers.size());
    probe->layers[l].resize(call->D);
    if (!call->reference)
      for (int d = 0; d < call->D; ++d)
        if (!call->tapes[d].bn)  // (lstm_bn's double engine keeps no float tape; its fp32 loop keeps the gates)
          rnn::record_forward_stats(call->shape[d], call->tapes[d], probe->layers[l][d], probe->keep_states);
  }
  std::vector<Tensor> outs{y, hn};
  if (lstm) outs.push_back(cn);
  auto backward = [call, ycols, lstm, probe, l](const std::vector<Tensor>& g, Node& hub) {
    layer_backward(call, ycols, lstm, probe, l, g, hub);
  };
  return make_multi_op("rnn_layer", std::move(outs), inputs, backward);
}

static void check_state(const Var& v, const char* what, size_t l, Shape expected) {
  RC_CHECK(v.shape() == expected, what, "layer ", l, ": expected shape ", shape_str(expected), ", got ",
           shape_str(v.shape()));
}

RNNOutput RNN::forward(const Var& input, const std::vector<int64_t>& lengths, const RNNState& init) {
  RC_CHECK(input.defined() && input.value().dim() == 3, "input", "expected a 3-d tensor ",
           opts_.batch_first ? "[B, T, I]" : "[T, B, I]", ", got ", input.defined() ? shape_str(input.shape()) : "none");
  // Time-major and contiguous inside (the transpose op materialises its result).
  Var x = opts_.batch_first ? transpose(input, 0, 1) : input;
  if (!x.value().is_contiguous()) x = transpose(transpose(x, 0, 1), 0, 1);
  const int64_t T = x.size(0), B = x.size(1);
  RC_CHECK(x.size(2) == opts_.input_size, "input", "expected feature size ", opts_.input_size, ", got shape ",
           shape_str(input.shape()));
  RC_CHECK(T > 0 && B > 0, "input", "expected a non-empty sequence batch, got shape ", shape_str(input.shape()));
  std::vector<uint8_t> valid;
  if (!lengths.empty()) {
    RC_CHECK(static_cast<int64_t>(lengths.size()) == B, "lengths", "expected ", B, " lengths (one per sequence), got ",
             lengths.size());
    for (size_t b = 0; b < lengths.size(); ++b)
      RC_CHECK(lengths[b] >= 1 && lengths[b] <= T, "lengths", "length ", lengths[b], " of sequence ", b,
               " is outside [1, ", T, "]");
    valid = rnn::valid_mask(T, lengths);
  }
  const size_t L = opts_.layers.size();
  RC_CHECK(init.h.empty() || init.h.size() == L, "h0", "expected ", L, " per-layer states, got ", init.h.size());
  RC_CHECK(init.c.empty() || init.c.size() == L, "c0", "expected ", L, " per-layer states, got ", init.c.size());
  RNNOutput out;
  for (size_t l = 0; l < L; ++l) {
    const LayerSpec& s = opts_.layers[l];
    Var h0 = init.h.empty() ? Var() : init.h[l];
    Var c0 = init.c.empty() || !has_cell_state(s.cell) ? Var() : init.c[l];
    if (h0.defined()) check_state(h0, "h0", l, {opts_.directions(), B, s.out_size()});
    if (c0.defined()) check_state(c0, "c0", l, {opts_.directions(), B, s.hidden});
    std::vector<Var> r = run_layer(*this, l, x, valid, h0, c0, out.tape_bytes, is_training() ? &dropout_rng_ : nullptr);
    x = r[0];
    out.final_state.h.push_back(r[1]);
    out.final_state.c.push_back(has_cell_state(s.cell) ? r[2] : Var());
    if (l + 1 < L && opts_.dropout > 0.0f && is_training()) x = dropout(x, opts_.dropout, true, dropout_rng_);
  }
  out.output = opts_.batch_first ? transpose(x, 0, 1) : x;
  return out;
}

Tensor stack_states(const std::vector<Var>& per_layer) {
  RC_CHECK(!per_layer.empty(), "stack_states", "no layers");
  Shape s = per_layer[0].shape();
  int64_t rows = 0;
  for (const Var& v : per_layer) {
    RC_CHECK(v.defined() && v.value().dim() == 3 && v.size(1) == s[1] && v.size(2) == s[2], "stack_states",
             "layers have different state shapes; PyTorch's [L*D, B, R] layout needs equal sizes");
    rows += v.size(0);
  }
  Tensor out({rows, s[1], s[2]});
  int64_t off = 0;
  for (const Var& v : per_layer) {
    Tensor c = v.value().contiguous();
    std::memcpy(out.data() + off, c.data(), c.numel() * sizeof(float));
    off += c.numel();
  }
  return out;
}

}  // namespace recurrent
