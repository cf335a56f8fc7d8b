// recurrent/tasks/lm.h — recurrent language models: model, evaluation, scoring, sampling, training.
//
//   ids [T, B] → embedding [V, E] → dropout → RNN stack (any cell per layer, dropout between
//   layers) → dropout → linear [V, R] (optionally tied to the embedding: E == R) → logits [T, B, V]
//   loss = mean over tokens of −log softmax(logits)[target]   (nats; bits = nats / ln 2)
// Dropout p on the embedding output, between layers and before the decoder follows Zaremba et al.
// 2014 ("dropout on the non-recurrent connections"). Legend: T time, B batch, V vocabulary,
// E embedding size, R last layer's output size.
//
// A model file is a train/checkpoint.h checkpoint whose recurrent.config JSON is LmConfig::to_json()
// (task "lm", vocabulary tokens, layer specs), so eval / score / sample need only that file.
//
// LmModel is what training, evaluation, scoring and sampling need from a language model, so the
// same code drives the RNN (LanguageModel, below) and the GPT-style transformer
// (tasks/lm_transformer.h; recurrent.config then carries "arch": "transformer"):
//   forward_chunk   a training chunk ids [T, B] → logits [T, B, V] on the tape; the RNN carries its
//                   hidden state between chunks (truncated BPTT), the transformer sees each chunk as
//                   an independent window (T ≤ context) and leaves the carry empty;
//   streams()       B streams without tape for evaluation / scoring / generation: feed ids [T, B],
//                   get logits [T, B, V] for every fed step; the RNN carries its state, the
//                   transformer its KV cache (sliding the window to the last context/2 tokens when it
//                   is full, so every token sees ≥ context/2 tokens before it); reorder() for beams.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/vocab.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

// B parallel token streams over one model, in inference mode (no tape). See the contract above.
class LmStreams {
 public:
  virtual ~LmStreams() = default;
  // ids [T·B] time-major → logits [T, B, V] of every fed step (B fixed once the first call is made,
  // except through reorder()).
  virtual Tensor feed(const std::vector<int64_t>& ids, int64_t T, int64_t B) = 0;
  // Beam search: the new stream k continues the old stream from[k] (the count may change).
  virtual void reorder(const std::vector<int64_t>& from) = 0;
};

class LmModel : public Module {
 public:
  virtual const data::Vocab& vocab() const = 0;
  int64_t vocab_size() const { return vocab().size(); }
  virtual std::string config_json() const = 0;  // recurrent.config of the checkpoint
  virtual std::string summary() const = 0;      // "2 LSTM layers" for progress lines
  virtual Var forward_chunk(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& carry) = 0;
  virtual std::unique_ptr<LmStreams> streams() = 0;
  // Every dropout RNG by a stable name (saved in training checkpoints for an exact resume).
  virtual std::vector<std::pair<std::string, Rng*>> dropout_rngs() = 0;
};

struct LmConfig {
  data::Vocab vocab;
  int64_t embed = 0;
  std::vector<LayerSpec> layers;
  float dropout = 0.0f;
  bool tie_weights = false;
  Precision precision = Precision::fp32;  // of the recurrent layers; "precision" in the JSON (absent: fp32)

  RNNOptions rnn_options() const;
  std::string to_json() const;
  static LmConfig from_json(const std::string& json, const std::string& where);
  void validate() const;  // throws Error naming the option (--embed, --tie-weights, ...)
};

class LanguageModel : public LmModel {
 public:
  LanguageModel(LmConfig cfg, Rng& rng);  // PyTorch defaults: embedding N(0,1), RNN and decoder U(±1/√fan)
  const LmConfig& config() const { return cfg_; }
  const data::Vocab& vocab() const override { return cfg_.vocab; }
  std::string config_json() const override { return cfg_.to_json(); }
  std::string summary() const override;
  Var forward_chunk(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& carry) override {
    return forward(ids, T, B, carry);
  }
  std::unique_ptr<LmStreams> streams() override;
  std::vector<std::pair<std::string, Rng*>> dropout_rngs() override;

  // ids [T*B] time-major -> logits [T, B, V]. `state`: initial state on entry (empty = zeros), the
  // final state on exit, detached from the tape (truncated BPTT carries it to the next chunk).
  Var forward(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& state);

  // Every weight and bias U(−a, a) (Zaremba et al.: a = 0.1), in parameter order; a cell's normalisation gains
  // and biases (ln_*, bn_*) and RG-LRU's Λ keep their own initialisation (γ = 1 or 0.1, β = 0, Λ from the
  // paper's a ∈ [0.9, 0.999]): a gain drawn from U(−0.1, 0.1) would start the norm near zero.
  void init_uniform(float a, Rng& rng);
  RNN& rnn() { return *rnn_; }
  Rng& dropout_rng() { return dropout_rng_; }

 private:
  LmConfig cfg_;
  Var emb_, dec_w_, dec_b_;
  std::shared_ptr<RNN> rnn_;
  Rng dropout_rng_;
};

// ---- evaluation ------------------------------------------------------------------------------
struct LmEval {
  int64_t tokens = 0;
  double loss_nats = 0.0;  // mean per token
  double bits() const;     // loss / ln 2
  double perplexity() const;
};
// Every prediction of the stream (ids[1..N) from the tokens before each), the same figure for any
// `batch` up to rounding (an RNN: and its memory beyond seq_len tokens): the N − 1 predictions are
// cut into B ≤ min(batch, (N − 1) / W) contiguous parts, fed as B rows in chunks of seq_len steps
// (state or KV cache carried, eval mode), and each row first reads, unscored, the W tokens before
// its part, so its tokens have the context they have in one stream. RNN: W = seq_len. Transformer
// (context C): W = max(seq_len, C) and parts start at multiples of C − C/2, in step with the window's
// slides. batch 1: one stream, exactly. Errors name --batch / --seq-len. Under mpirun (train/dist.h)
// every rank must call it: each feeds its share of the B rows and the sums are added across ranks.
LmEval evaluate_lm(LmModel& m, const std::vector<int64_t>& ids, int64_t batch, int64_t seq_len);

// ---- loading -------------------------------------------------------------------------------------
std::unique_ptr<LanguageModel> load_lm(const std::string& model_path);  // an RNN model only
// Any language model (RNN or transformer), rebuilt from the checkpoint's recurrent.config.
std::unique_ptr<LmModel> open_lm(const std::string& model_path);
std::unique_ptr<LmModel> make_lm(const std::string& config_json, const std::string& where, Rng& rng);

// ---- scoring ---------------------------------------------------------------------------------------
struct TokenProb {
  std::string token;  // as written in the text ("<eos>" for the sentence end)
  double prob = 0.0;  // P(token | everything before it)
  bool unk = false;   // scored as <unk> (not in the vocabulary)
};
struct TextScore {
  double log_prob = 0.0;  // natural log of P(tokens | start)
  std::vector<TokenProb> tokens;
};
// Context: the model starts from a zero state after a start token (words: <eos>, i.e. a sentence
// start; chars: "\n" if the vocabulary has it, else " "), then scores every token of the text;
// word level also scores the final <eos> (the end of the sentence).
TextScore score_text(LmModel& m, const std::string& text_utf8);
// P(next token | that start token, the context's tokens) over the vocabulary [V] (sums to 1): what
// follows a line (words: its words, without <eos>; chars: its characters). `where` names the context
// in UTF-8 errors.
std::vector<double> next_token_probs(LmModel& m, const std::string& context_utf8, const std::string& where);

// ---- sampling --------------------------------------------------------------------------------------
struct SampleOptions {
  std::string prime;
  int64_t length = 500;        // tokens to generate after the prime
  double temperature = 1.0;    // > 0
  int64_t top_k = 0;           // 0: all
  double top_p = 1.0;          // nucleus mass in (0, 1]
  uint64_t seed = 1;
  int64_t beam = 0;            // > 0: beam search of that width (deterministic; no sampling)
};
// Emits the prime then each generated token as text (streamed). Never emits <unk>.
void sample_lm(LmModel& m, const SampleOptions& o, const std::function<void(const std::string&)>& emit);
// Throws Error naming the option (--length, --temperature, --top-k, --top-p, --beam) when out of range.
void check_sample_options(const SampleOptions& o);

// The pieces sample_lm is made of, for callers that drive the model themselves (the server batches
// many generations into one step per token, src/serve/): the same pieces give the same text.
//   ids = sample_prime_ids(vocab, prime)         the start token, then the prime's tokens
//   feed ids (B = 1) → logits [T, 1, V]; cur = log_prob_rows(logits).back()
//   repeat: id = sampler.next(cur); emit vocab.render(id); feed {id} → cur = log_prob_rows(...)[b]
std::vector<int64_t> sample_prime_ids(const data::Vocab& v, const std::string& prime,
                                      const std::string& where = "--prime");
// logits [T, B, V] → log-softmax rows in doubles, row t·B + b.
std::vector<std::vector<double>> log_prob_rows(const Tensor& logits);
// One generation's draws: softmax(logp / temperature) without <unk>, top-k, top-p, then a draw from
// its own Rng(seed, "samp"): the same seed gives the same tokens.
class TokenSampler {
 public:
  explicit TokenSampler(const SampleOptions& o);
  int64_t next(const std::vector<double>& logp);  // logp [V] → a token id (never <unk>)

 private:
  SampleOptions o_;
  Rng rng_;
};

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct LmTrainOptions : train::RunOptions {
  std::string data, valid, test;
  std::string level = "char";
  bool lower = false;
  int64_t min_count = 1, max_vocab = 0;
  std::string arch = "rnn";                    // rnn | transformer (tasks/lm_transformer.h)
  std::string cells = "lstm", hidden = "512";  // comma lists: one value, or one per layer
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t embed = 0, layers = 2;               // embed 0: same as the first hidden size
  double dropout = 0.0;
  bool tie_weights = false;
  double init_range = 0.0;                     // > 0: every parameter U(±init_range)
  // transformer: heads, d_model, feed-forward width, context (0: --seq-len), positions
  int64_t heads = 4, d_model = 128, ff = 512, context = 0;
  std::string pos = "learned";                 // learned | sinusoidal
  std::string precision = "fp32";              // rnn: fp32 | bf16 (RNNOptions::precision), saved in the model
  int64_t warmup = 0;                          // steps of linear lr warm-up (0: none)
  int64_t seq_len = 100, batch = 32;
  std::string optimizer = "adam";
  double lr = 2e-3, clip = 5.0;
  double lr_decay = 0.5;                       // factor on plateau (or per epoch from decay_start)
  int64_t patience = 0, decay_start = 0;       // decay_start > 0: lr·decay^max(0, epoch+1−decay_start)
  int64_t stop_patience = 5;                   // > 0: stop after this many epochs without a better validation loss
                                               // (early stopping; the best epoch's weights are the model); 0: off
  int64_t eval_batch = 16;
  int64_t log_interval = 50;                   // metrics rows every N steps
  int64_t diagnostics = 0;                     // > 0: gradient-flow JSON lines every N steps (train/diagnostics.h)
};
enum class TrainOutcome { finished, stopped };  // stopped: Ctrl-C or --max-steps; last checkpoint saved
TrainOutcome train_lm(const LmTrainOptions& o);

}  // namespace recurrent::tasks
