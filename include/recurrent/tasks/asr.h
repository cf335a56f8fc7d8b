// recurrent/tasks/asr.h — speech recognition of spoken digits (issue 22): an isolated-digit classifier
// (many-to-one) and a CTC speech encoder for connected digits, both on the fast RNN engine.
//
//   audio [N] at the model's rate --front end (audio/features.h, global mean/variance normalisation with
//   the training set's statistics, kept in the model)--> feats [T, D] --stack k frames--> [T', k·D]
//   (T' = ⌈T/k⌉: time subsampling, the last group zero-padded)
//     ctc:      RNN stack ((bi)LSTM/GRU/...) → linear → logits [T', B, 11]: class 0 the CTC blank, class
//               1 + d the digit d; loss ctc_loss_logits (mean over the batch of ℓ_b / L_b), greedy or
//               prefix-beam decoding (tasks/ctc_decode.h)
//     classify: RNN stack → mean of the outputs over each utterance's steps → linear → logits [B, 10];
//               loss cross-entropy
// Metrics: WER (digits are the words), CER (over the characters of "3 1 4"), sentence accuracy; for the
// classifier WER = 1 − accuracy. Streaming (AsrStream): a unidirectional CTC model fed audio in chunks
// keeps its feature stream, frame stack and RNN state; the greedy decoder's tokens after each push are
// what decoding the audio so far gives. A bidirectional model needs the whole utterance: refused.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recurrent/audio/feature_stream.h"
#include "recurrent/audio/features.h"
#include "recurrent/audio/normalize.h"
#include "recurrent/core/rng.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

enum class AsrKind { ctc, classify };

struct AsrConfig {
  AsrKind kind = AsrKind::ctc;
  std::map<std::string, std::string> features;  // audio::to_map of the front end (normalize global/utterance/speaker)
  std::vector<float> norm_mean, norm_std;       // the global normalisation, [D] each (empty: per utterance/speaker)
  std::vector<LayerSpec> layers;
  bool bidirectional = false;
  int64_t stack = 1;    // frames stacked into one RNN step
  float dropout = 0.0f;  // between layers and before the output layer
  std::string data_json = "{}";  // how the training data was made (eval rebuilds the test part from it)

  audio::FeatureOptions front_end() const;
  audio::GlobalNorm global_norm() const;
  int64_t classes() const { return kind == AsrKind::ctc ? 11 : 10; }
  int64_t input_size() const;
  RNNOptions rnn_options() const;
  void validate() const;
  std::string to_json() const;
  static AsrConfig from_json(const std::string& json, const std::string& where);
};

// [T, D] → [⌈T/k⌉, k·D]: row r holds frames r·k … r·k+k−1 side by side (zeros past T).
Tensor stack_frames(const Tensor& feats, int64_t k);

// One utterance: its normalised features (unstacked), digits and, for latency, its audio and digit ends.
struct AsrItem {
  Tensor feats;                  // [T, D]
  std::vector<int> digits;       // the label sequence (one digit for the classifier)
  std::vector<float> samples;    // kept for test items only (streaming latency)
  std::vector<int64_t> ends;     // digit k ends at sample ends[k] (empty when unknown)
  std::string speaker;
};

struct AsrBatch {
  Tensor x;                                      // [T', B, k·D]
  std::vector<int64_t> lengths;                  // [B] steps
  std::vector<int64_t> targets, target_lengths;  // ctc: classes 1 + d, concatenated
  std::vector<int64_t> labels;                   // classify: the digit
};
// `feats` overrides items' features (e.g. SpecAugment copies); empty: the items' own.
AsrBatch asr_batch(const std::vector<AsrItem>& items, const std::vector<size_t>& which, int64_t stack,
                   const std::vector<Tensor>& feats = {});

class AsrModel : public Module {
 public:
  AsrModel(AsrConfig cfg, Rng& rng);  // PyTorch defaults: RNN U(±1/√H), linear U(±1/√F)
  const AsrConfig& config() const { return cfg_; }
  // x [T', B, I] → ctc: logits [T', B, 11]; classify: [B, 10]. `state` carried in and out (streaming).
  Var forward(const Tensor& x, const std::vector<int64_t>& lengths, RNNState* state = nullptr);
  // The front end on samples at the model's rate: normalised features [T, D]. `where` names the source.
  // A model normalised per speaker needs that speaker's statistics (`speaker`; Error without them).
  Tensor features(const std::vector<float>& samples, const std::string& where,
                  const audio::GlobalNorm* speaker = nullptr) const;
  // One recording on its own (transcribe, the server): for a model normalised per speaker, that
  // recording is all there is of its speaker, so its own statistics stand in for the speaker's.
  Tensor features_alone(const std::vector<float>& samples, const std::string& where) const;
  bool per_speaker() const { return cfg_.front_end().normalize == "speaker"; }
  const audio::GlobalNorm& norm() const { return norm_; }
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  AsrConfig cfg_;
  audio::GlobalNorm norm_;
  std::shared_ptr<RNN> rnn_;
  Var out_w_, out_b_;
  Rng dropout_rng_;
};

Var asr_loss(AsrModel& m, const AsrBatch& b);

// Decoded digits of one utterance: ctc greedy (beam 1) or prefix beam search; classify: the argmax.
struct AsrResult {
  std::vector<int> digits;
  std::vector<double> start_s, end_s;  // ctc: each digit's time span (forced alignment of the answer)
  double confidence = 0.0;             // classify: the top probability
  Tensor log_probs;                    // ctc: per-step log-probabilities [T', 11] (class 0 the blank)
  double step_seconds = 0.0;           // ctc: audio time per step (stack · hop / rate)
};
AsrResult recognize(AsrModel& m, const Tensor& feats, int64_t beam = 1, bool timestamps = false);
std::string digits_text(const std::vector<int>& digits);  // "3 1 4"

struct LatencyStats {
  int64_t digits = 0;  // digits measured (of correctly recognised utterances)
  double mean_ms = 0, median_ms = 0, p90_ms = 0, max_ms = 0;
  std::string mode;    // "streaming" (chunks of chunk_ms) or "whole utterance"
  double chunk_ms = 0;
};
struct AsrEval {
  int64_t utterances = 0, words = 0;
  double loss = 0.0, wer = 0.0, cer = 0.0, sentence_accuracy = 0.0;
  double audio_seconds = 0.0, decode_seconds = 0.0;  // real-time factor = decode / audio
  LatencyStats latency;                              // ctc items with samples and ends
};
AsrEval evaluate_asr(AsrModel& m, const std::vector<AsrItem>& items, int64_t batch = 16, int64_t beam = 1,
                     double chunk_ms = 100.0);
// {"utterances", "words", "loss", "wer", "cer", "sentence_accuracy", ["accuracy"], ["real_time_factor"],
//  ["latency_ms": {"mode", "chunk_ms", "digits", "mean", "median", "p90", "max"}]} (one line)
std::string asr_eval_json(const AsrEval& e, bool ctc);

// The audio-in, digits-out path for streams (unidirectional CTC models; Error otherwise, with the reason).
class AsrStream {
 public:
  explicit AsrStream(AsrModel& m);
  ~AsrStream();
  // The samples (at the model's rate) that arrived; returns the digits decoded so far.
  const std::vector<int>& push(const float* samples, size_t n);
  const std::vector<int>& finish();  // the end of the audio: the last frames
  const std::vector<int>& digits() const { return digits_; }
  int64_t samples_in() const;

 private:
  void feed(const Tensor& rows);        // feature rows [n, D]
  void feed_groups(const Tensor& x);    // stacked steps [G, stack·D]
  AsrModel& m_;
  std::unique_ptr<audio::FeatureStream> fs_;
  Tensor pending_;  // frames waiting for a full stack group
  int64_t pending_rows_ = 0;
  RNNState state_;
  std::vector<int> digits_;
  int64_t last_ = 0;  // argmax class of the last step (CTC collapse across pushes)
};

std::unique_ptr<AsrModel> load_asr_model(const std::string& model_path);  // file or run directory

// ---- data --------------------------------------------------------------------------------------------
// FSDD (audio/fsdd.h) as the model's items: isolated takes, or connected digits built from them
// (audio/connected_digits.h). Speakers: all three lists empty → the official split (takes 0-4 test, the
// next valid_takes valid); otherwise disjoint speaker lists, and with no valid speakers the last
// valid_takes takes of each training speaker and digit are held out for validation.
struct AsrDataOptions {
  std::string data;  // the FSDD folder
  bool isolated = false;
  std::vector<std::string> speakers_train, speakers_valid, speakers_test;
  int64_t valid_takes = 5;
  int64_t n_train = 2000, n_valid = 200, n_test = 400;  // connected utterances
  std::vector<double> speed_perturb;  // extra copies of each training utterance played f times faster
                                      // (resampled: pitch and formants move with f, as another voice's)
  std::vector<double> vtlp;           // extra copies whose mel filters are warped by α (audio::vtlp_warp:
                                      // formants move as with another vocal tract length, pitch stays)
  uint64_t seed = 1;
  std::string to_json() const;
  static AsrDataOptions from_json(const std::string& json, const std::string& where);
};
struct AsrData {
  std::vector<AsrItem> train, valid, test;
  std::string split;  // a one-line description
};
// Features with opts (normalize none or utterance); the caller applies a global normalisation.
AsrData load_asr_data(const AsrDataOptions& o, const audio::FeatureOptions& opts);
// Per-speaker mean/variance normalisation: each item's features by the statistics of all items of its
// speaker (AsrItem::speaker; a perturbed training copy is a speaker of its own, "george~speed0.9").
void normalize_by_speaker(std::vector<AsrItem>& items, double eps);
// The test part the model was trained with, rebuilt from its record over the FSDD folder `fsdd`, or a
// folder of connected digits with labels.tsv (audio::read_connected); normalised by the model.
std::vector<AsrItem> load_asr_eval_items(const AsrModel& m, const std::string& data);

// ---- training ----------------------------------------------------------------------------------------
struct AsrTrainOptions : train::RunOptions {
  AsrDataOptions d;
  std::string kind = "mfcc";  // front end: mfcc | fbank
  std::string normalize = "global";  // global (streams) | utterance (each utterance's own mean/variance) |
                                     // speaker (each speaker's mean/variance over all of their utterances)
  std::string cells = "lstm", hidden = "128";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t layers = 2;
  bool bidirectional = false;
  int64_t stack = 2;
  double dropout = 0.1;
  bool spec_augment = false;
  int64_t batch = 16;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  int64_t patience = 5;
};
enum class AsrOutcome { finished, stopped };
AsrOutcome train_asr(const AsrTrainOptions& o);

}  // namespace recurrent::tasks
