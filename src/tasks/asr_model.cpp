// The speech model: configuration (JSON), frame stacking, batches, module, loss, recognition and
// loading (contract in tasks/asr.h).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ctc.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/tasks/ctc_decode.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/io/json_int.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

using nlohmann::json;

audio::FeatureOptions AsrConfig::front_end() const { return audio::feature_options_from_map(features, "features"); }

audio::GlobalNorm AsrConfig::global_norm() const {
  const int64_t D = static_cast<int64_t>(norm_mean.size());
  Tensor mean({D}), sd({D});
  std::copy(norm_mean.begin(), norm_mean.end(), mean.data());
  std::copy(norm_std.begin(), norm_std.end(), sd.data());
  return audio::GlobalNorm(mean, sd);
}

int64_t AsrConfig::input_size() const { return stack * front_end().dims(); }

RNNOptions AsrConfig::rnn_options() const {
  RNNOptions o;
  o.input_size = input_size();
  o.layers = layers;
  o.bidirectional = bidirectional;
  o.dropout = dropout;
  return o;
}

void AsrConfig::validate() const {
  RC_CHECK(!layers.empty(), "--layers", "expected at least one layer");
  RC_CHECK(stack >= 1 && stack <= 16, "--stack", "expected frames per step in [1, 16], got ", stack);
  RC_CHECK(dropout >= 0.0f && dropout < 1.0f, "--dropout", "expected a value in [0, 1), got ", dropout);
  const audio::FeatureOptions f = front_end();
  RC_CHECK(f.normalize == "global" || f.normalize == "utterance" || f.normalize == "speaker", "features",
           "expected global, per-utterance or per-speaker normalisation, got '", f.normalize, "'");
  const size_t want = f.normalize == "global" ? static_cast<size_t>(f.dims()) : 0;
  RC_CHECK(norm_mean.size() == want && norm_std.size() == want, "features", "expected ", want,
           " normalisation statistics (", f.normalize, "), got ", norm_mean.size());
  rnn_options().validate();
}

std::string AsrConfig::to_json() const {
  json ls = json::array();
  for (const LayerSpec& l : layers) ls.push_back(layer_json(l));
  return json{{"task", "asr"}, {"kind", kind == AsrKind::ctc ? "ctc" : "classify"}, {"features", features},
              {"norm_mean", norm_mean}, {"norm_std", norm_std}, {"layers", ls}, {"bidirectional", bidirectional},
              {"stack", stack}, {"dropout", dropout}, {"data", json::parse(data_json)}}
      .dump();
}

AsrConfig AsrConfig::from_json(const std::string& text, const std::string& where) {
  try {
    const json j = json::parse(text);
    RC_CHECK(j.value("task", "") == "asr", where, "not a speech model (task '", j.value("task", ""), "')");
    AsrConfig c;
    const std::string kind = j.at("kind").get<std::string>();
    RC_CHECK(kind == "ctc" || kind == "classify", where, "unknown speech model kind '", kind, "'");
    c.kind = kind == "ctc" ? AsrKind::ctc : AsrKind::classify;
    c.features = j.at("features").get<std::map<std::string, std::string>>();
    c.norm_mean = j.at("norm_mean").get<std::vector<float>>();
    c.norm_std = j.at("norm_std").get<std::vector<float>>();
    for (const json& l : j.at("layers"))
      c.layers.push_back(layer_from_json(l));
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.stack = io::json_int_at<int64_t>(j, "stack");
    c.dropout = j.at("dropout").get<float>();
    c.data_json = j.value("data", json::object()).dump();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(where, std::string("bad model configuration: ") + e.what());
  }
}

Tensor stack_frames(const Tensor& feats, int64_t k) {
  RC_CHECK(feats.dim() == 2 && k >= 1, "stack_frames", "expected feats [T, D] and k >= 1");
  const Tensor f = feats.contiguous();
  const int64_t T = f.size(0), D = f.size(1), R = (T + k - 1) / k;
  Tensor out({R, k * D});  // zeros: the last group's missing frames
  std::copy_n(f.data(), T * D, out.data());  // row r = frames r·k … r·k+k−1: contiguous in [T, D]
  return out;
}

AsrBatch asr_batch(const std::vector<AsrItem>& items, const std::vector<size_t>& which, int64_t stack,
                   const std::vector<Tensor>& feats) {
  const int64_t B = static_cast<int64_t>(which.size());
  RC_CHECK(B > 0, "asr_batch", "no utterances");
  std::vector<Tensor> x;
  int64_t T = 0;
  AsrBatch ab;
  for (int64_t b = 0; b < B; ++b) {
    const AsrItem& it = items.at(which[b]);
    x.push_back(stack_frames(feats.empty() ? it.feats : feats[b], stack));
    ab.lengths.push_back(x.back().size(0));
    T = std::max(T, x.back().size(0));
    for (int d : it.digits) ab.targets.push_back(1 + d);
    ab.target_lengths.push_back(static_cast<int64_t>(it.digits.size()));
    ab.labels.push_back(it.digits.empty() ? 0 : it.digits[0]);
  }
  const int64_t I = x[0].size(1);
  ab.x = Tensor({T, B, I});  // time-major, zeros past each length
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < ab.lengths[b]; ++t) std::copy_n(x[b].data() + t * I, I, ab.x.data() + (t * B + b) * I);
  return ab;
}

AsrModel::AsrModel(AsrConfig cfg, Rng& rng) : cfg_(std::move(cfg)), dropout_rng_(rng.fork(0x617372)) {
  cfg_.validate();
  if (!cfg_.norm_mean.empty()) norm_ = cfg_.global_norm();
  rnn_ = register_module("rnn", std::make_shared<RNN>(cfg_.rnn_options(), rng));
  const int64_t F = cfg_.rnn_options().layer_output_size(cfg_.layers.size() - 1), C = cfg_.classes();
  const float k = 1.0f / std::sqrt(static_cast<float>(F));  // torch.nn.Linear default
  Tensor w({C, F}), b({C});
  rng.fill_uniform(w, -k, k);
  rng.fill_uniform(b, -k, k);
  out_w_ = register_parameter("output.weight", w);
  out_b_ = register_parameter("output.bias", b);
}

Tensor AsrModel::features(const std::vector<float>& samples, const std::string& where,
                          const audio::GlobalNorm* speaker) const {
  const audio::FeatureOptions f = cfg_.front_end();
  if (f.normalize != "speaker") return audio::compute_features(samples, f, where, norm_.finished() ? &norm_ : nullptr);
  RC_CHECK(speaker != nullptr, where, "this model normalises features by the speaker's statistics (train asr "
           "--normalize speaker): they must be given");
  return audio::compute_features(samples, f, where, speaker);
}

Tensor AsrModel::features_alone(const std::vector<float>& samples, const std::string& where) const {
  if (!per_speaker()) return features(samples, where);
  audio::FeatureOptions own = cfg_.front_end();  // the speaker's statistics over this one utterance
  own.normalize = "utterance";
  return audio::compute_features(samples, own, where);
}

Var AsrModel::forward(const Tensor& x, const std::vector<int64_t>& lengths, RNNState* state) {
  RC_CHECK(x.dim() == 3 && x.size(2) == cfg_.input_size(), "speech model", "expected inputs [T, B, ",
           cfg_.input_size(), "], got ", shape_str(x.shape()));
  RNNOutput out = rnn_->forward(Var(x), lengths, state ? *state : RNNState{});
  if (state) *state = out.final_state;
  Var h = dropout(out.output, cfg_.dropout, is_training(), dropout_rng_);  // [T, B, F]
  if (cfg_.kind == AsrKind::ctc) return linear(h, out_w_, out_b_);
  const int64_t B = x.size(1);
  Tensor inv({B, 1});
  for (int64_t b = 0; b < B; ++b) inv.data()[b] = 1.0f / static_cast<float>(lengths.empty() ? x.size(0) : lengths[b]);
  return linear(mul(sum(h, 0), Var(inv)), out_w_, out_b_);  // mean over steps (outputs past a length are 0)
}

Var asr_loss(AsrModel& m, const AsrBatch& b) {
  const Var logits = m.forward(b.x, b.lengths);
  if (m.config().kind == AsrKind::classify) return cross_entropy(logits, b.labels);
  CtcOptions o;
  o.zero_infinity = true;  // an utterance too short for its digits teaches nothing (none is, at stack <= 4)
  return ctc_loss_logits(logits, b.targets, b.lengths, b.target_lengths, o);
}

std::string digits_text(const std::vector<int>& digits) {
  std::string s;
  for (int d : digits) s += (s.empty() ? "" : " ") + std::to_string(d);
  return s;
}

AsrResult recognize(AsrModel& m, const Tensor& feats, int64_t beam, bool timestamps) {
  NoGradGuard ng;
  m.eval();
  const int64_t k = m.config().stack;
  const Tensor x = stack_frames(feats, k);
  const Tensor in = x.view({x.size(0), 1, x.size(1)});
  const Var logits = m.forward(in, {x.size(0)});
  AsrResult r;
  if (m.config().kind == AsrKind::classify) {
    const Tensor p = softmax(logits).value();
    const float* pp = p.data();
    const int64_t best = std::max_element(pp, pp + 10) - pp;
    r.digits = {static_cast<int>(best)};
    r.confidence = pp[best];
    return r;
  }
  const Tensor lp = log_softmax(logits).value().view({x.size(0), m.config().classes()});
  const FrameView fv = frames_of(lp);
  std::vector<int64_t> tokens;
  if (beam <= 1) {
    tokens = greedy_decode(fv).tokens;
  } else {
    BeamOptions bo;
    bo.beam = beam;
    tokens = prefix_beam_search(fv, bo).at(0).tokens;
  }
  for (int64_t t : tokens) r.digits.push_back(static_cast<int>(t - 1));
  const audio::FeatureOptions f = m.config().front_end();
  r.step_seconds = double(k) * f.hop_length / f.sample_rate;  // one RNN step
  r.log_probs = lp;
  if (timestamps && !tokens.empty())
    for (const TokenSpan& s : token_spans(forced_align(fv, tokens), 0)) {
      r.start_s.push_back(s.start * r.step_seconds);
      r.end_s.push_back(s.end * r.step_seconds);
    }
  return r;
}

std::unique_ptr<AsrModel> load_asr_model(const std::string& model_path) {
  return load_trained<AsrModel, AsrConfig>(model_path);
}

}  // namespace recurrent::tasks
