// The piano-roll model: configuration (JSON), batches, module, loss, evaluation, loading and sampling
// (contract in tasks/music.h).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/bce.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/music.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;
constexpr int64_t K = data::kPitches;  // 88 keys

RNNOptions MusicConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = K;
  o.layers = layers;
  o.dropout = dropout;
  return o;
}

void MusicConfig::validate() const {
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  rnn_options().validate();
}

std::string MusicConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  return json{{"task", "music"}, {"keys", K}, {"lowest_pitch", data::kLowestPitch}, {"layers", ls}, {"dropout", dropout}}
      .dump();
}

MusicConfig MusicConfig::from_json(const std::string& text, const std::string& where) {
  try {
    const json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "music", where, "not a music model (task '", j.value("task", ""), "')");
    RC_CHECK(io::json_int_at<int64_t>(j, "keys") == K && io::json_int_at<int>(j, "lowest_pitch") == data::kLowestPitch, where,
             "expected a model of the 88 piano keys from MIDI ", data::kLowestPitch);
    MusicConfig c;
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.dropout = j.at("dropout").get<float>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  }
}

MusicBatch music_batch(const std::vector<Tensor>& rolls, const std::vector<size_t>& which) {
  const int64_t B = static_cast<int64_t>(which.size());
  RC_CHECK(B > 0, "music_batch", "no chorales");
  int64_t T = 0;
  MusicBatch mb;
  for (size_t i : which) {
    mb.lengths.push_back(rolls.at(i).size(0));
    T = std::max(T, rolls[i].size(0));
  }
  mb.x = Tensor({T, B, K});  // x[t, b] = v_b[t − 1] (x[0] silent), y[t, b] = v_b[t]; zeros past the length
  mb.y = Tensor({T, B, K});
  mb.mask.assign(static_cast<size_t>(T * B), 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const float* v = rolls[which[b]].contiguous().data();
    for (int64_t t = 0; t < mb.lengths[b]; ++t) {
      std::copy_n(v + t * K, K, mb.y.data() + (t * B + b) * K);
      if (t > 0) std::copy_n(v + (t - 1) * K, K, mb.x.data() + (t * B + b) * K);
      mb.mask[t * B + b] = 1.0f;
    }
  }
  return mb;
}

MusicModel::MusicModel(MusicConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x6d7573)) {
  cfg_.validate();
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const int64_t R = cfg_.layers.back().out_size();
  const float k = 1.0f / std::sqrt(static_cast<float>(R));  // torch.nn.Linear default
  Tensor w({K, R}), b({K});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  out_w_ = register_parameter("output.weight", w);
  out_b_ = register_parameter("output.bias", b);
}

void MusicModel::init_output_bias(const std::vector<Tensor>& rolls) {
  std::vector<double> n(K, 0.0);
  double steps = 0;
  for (const Tensor& r : rolls) {
    const Tensor c = r.contiguous();
    for (int64_t i = 0; i < c.numel(); ++i) n[i % K] += c.data()[i];
    steps += static_cast<double>(r.size(0));
  }
  float* b = out_b_.value().data();
  for (int64_t k = 0; k < K; ++k) {
    const double p = (n[k] + 1.0) / (steps + 2.0);
    b[k] = static_cast<float>(std::log(p / (1.0 - p)));
  }
}

Var MusicModel::forward(const Tensor& x, const std::vector<int64_t>& lengths, RNNState* state) {
  RC_CHECK(x.dim() == 3 && x.size(2) == K, "music model", "expected inputs [T, B, ", K, "], got ", shape_str(x.shape()));
  RNNOutput out = rnn_->forward(Var(x), lengths, state ? *state : RNNState{});
  if (state) *state = out.final_state;
  return linear(dropout(out.output, cfg_.dropout, is_training(), dropout_rng_), out_w_, out_b_);  // [T, B, 88]
}

Var music_loss(MusicModel& m, const MusicBatch& b) {
  SigmoidBceOptions o;
  o.row_weights = b.mask;
  o.reduction = BceReduction::mean_rows;
  return sigmoid_bce(m.forward(b.x, b.lengths), b.y, o);
}

MusicEval evaluate_music(MusicModel& m, const std::vector<Tensor>& rolls, int64_t batch) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  MusicEval e;
  double nll = 0.0, tp = 0.0, fp_fn = 0.0;
  for (size_t a = 0; a < rolls.size(); a += static_cast<size_t>(batch)) {
    std::vector<size_t> which;
    for (size_t i = a; i < std::min(rolls.size(), a + batch); ++i) which.push_back(i);
    const MusicBatch b = music_batch(rolls, which);
    const Var logits = m.forward(b.x, b.lengths);
    SigmoidBceOptions o;
    o.row_weights = b.mask;
    o.reduction = BceReduction::sum;
    nll += sigmoid_bce(logits, b.y, o).value().item();
    const float *l = logits.value().data(), *y = b.y.data();
    for (size_t r = 0; r < b.mask.size(); ++r) {
      if (b.mask[r] == 0.0f) continue;
      for (int64_t k = 0; k < K; ++k) {
        const bool on = l[r * K + k] > 0.0f, truth = y[r * K + k] > 0.5f;
        tp += on && truth;
        fp_fn += on != truth;
      }
    }
    for (int64_t len : b.lengths) e.steps += len;
  }
  m.train(was_training);
  e.chorales = static_cast<int64_t>(rolls.size());
  e.nll_per_step = e.steps ? nll / static_cast<double>(e.steps) : 0.0;
  e.frame_accuracy = tp + fp_fn > 0 ? tp / (tp + fp_fn) : 0.0;
  return e;
}

std::unique_ptr<MusicModel> load_music_model(const std::string& model_path) {
  return load_trained<MusicModel, MusicConfig>(model_path);
}

Tensor sample_music(MusicModel& m, const MusicSampleOptions& o) {
  RC_CHECK(o.temperature > 0.0 && std::isfinite(o.temperature), "--temperature", "expected a value > 0, got ", o.temperature);
  RC_CHECK(o.steps >= 0, "--steps", "expected >= 0, got ", o.steps);
  const int64_t P = o.prime.defined() ? o.prime.size(0) : 0;
  RC_CHECK(P + o.steps > 0, "--steps", "nothing to generate (no prime and 0 steps)");
  NoGradGuard ng;
  m.eval();
  Rng rng(o.seed, 0x73616d70);
  Tensor out({P + o.steps, K});
  if (P > 0) std::copy_n(o.prime.contiguous().data(), P * K, out.data());
  // Inputs: the silent frame, then the prime v_0 … v_{P−1}; the logits after the last input predict step P.
  RNNState state;
  Tensor x({std::max<int64_t>(P, 1), 1, K}), frame({1, 1, K});  // x: silent, v_0 … v_{P−2}
  if (P > 1) std::copy_n(out.data(), (P - 1) * K, x.data() + K);
  Var logits = m.forward(x, {}, &state);
  if (P > 0) {
    std::copy_n(out.data() + (P - 1) * K, K, frame.data());
    logits = m.forward(frame, {}, &state);
  }
  for (int64_t t = P; t < P + o.steps; ++t) {
    const float* l = logits.value().data() + logits.value().numel() - K;  // the last step's logits
    for (int64_t k = 0; k < K; ++k) {
      const double z = l[k] / o.temperature, p = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
      frame.data()[k] = rng.uniform() < p ? 1.0f : 0.0f;
    }
    std::copy_n(frame.data(), K, out.data() + t * K);
    if (t + 1 < P + o.steps) logits = m.forward(frame, {}, &state);
  }
  return out;
}

}  // namespace recurrent::tasks
