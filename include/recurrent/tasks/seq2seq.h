// recurrent/tasks/seq2seq.h — encoder-decoder models (translation): vocabularies, the model
// interface, the RNN encoder-decoder with attention, decoding (greedy, beam), evaluation, training.
//
// Units: words. seq2seq_tokens() lower-cases ASCII and Latin-1 letters, then splits like the
// classifier's word level (tasks/classify.h): runs of letters/digits/non-ASCII and inner apostrophes
// are words, every other printable ASCII character is a token of its own:
//   "Y dijo Dios: Sea la luz" → y dijo dios : sea la luz
// Vocabularies (one per side) hold the training tokens by count (ties: byte order), capped by
// --src-vocab / --tgt-vocab (counting the specials); the rest is <unk>. Source ids: <unk> = 0.
// Target ids: <unk> = 0, <bos> = 1 (decoder input at step 0), <eos> = 2 (ends every target).
// A translation is rendered as its tokens joined by spaces.
//
// The model interface (Seq2SeqModel) is all the data, training, decoding, BLEU and CLI code uses,
// so another architecture (`--arch transformer`, nn/transformer.h) plugs in by implementing it:
//   forward(batch)        teacher forcing: logits [B, T, V] for targets y_1..y_n, <eos> (T = n_max + 1)
//   start(sources)        encodes B sources → a DecoderState (encoder memory, decoder state)
//   step(state, prev)     one decoder step for B hypotheses → log-probabilities [B, V]
//   reorder(state, from)  keep hypotheses `from` (beam search), in that order
//
// RnnSeq2Seq (arch "rnn"; Luong, Pham & Manning 2015, "global attention", without input feeding):
//   encoder: x = emb_src[src] [S, B, E] → RNN stack (any cell per layer; --bidirectional: each
//            direction has H_l/2 units and their outputs/states are concatenated, so widths are H_l
//            as in OpenNMT's brnn) → memory m [B, S, H_L]
//   decoder: initial state = the encoder's final state per layer (h, and c for LSTM layers)
//            d_t = RNN(emb_tgt[y_{t−1}]) top output [B, T, H_L]  (same cells and sizes per layer)
//   attention (query d_t, keys = values = m, source padding masked):
//     none           h̃_t = tanh(W_c d_t)                      W_c [H, H]
//     bahdanau       e_tj = vᵀ tanh(W_q d_t + W_k m_j + b)     (additive score, Bahdanau et al. 2015)
//     luong-dot      e_tj = d_t · m_j
//     luong-general  e_tj = d_tᵀ W_a m_j
//                    α_t = softmax_j(e_t), c_t = Σ_j α_tj m_j, h̃_t = tanh(W_c [c_t; d_t])   W_c [H, 2H]
//   output: logits_t = W_o dropout(h̃_t) + b_o   [V_tgt]
//   The Bahdanau score is used in this same architecture (query = current decoder state, as
//   OpenNMT's "mlp" global attention), so the three variants differ only in the score function.
//   Without input feeding the decoder RNN runs over all T target steps at once in training.
// TransformerSeq2Seq (arch "transformer"; Vaswani et al. 2017 with pre-LN blocks, Xiong et al. 2020):
//   encoder: x = drop(√D·E_src[src] + PE[0..S)) [B, S, D] → N TransformerEncoderLayers (self-attention,
//            source padding masked) → LayerNorm → memory m [B, S, D]
//   decoder: y = drop(√D·E_tgt[<bos> y_1 .. y_n] + PE[0..T)) [B, T, D] → N TransformerDecoderLayers
//            (causal self-attention; cross-attention on m, source padding masked) → LayerNorm → h
//   output:  logits = h·E_tgtᵀ   (tied to the target embedding, Press & Wolf 2017; no bias)
//   PE = sinusoidal positions (nn/transformer.h), so any source/target length works. E_* ~ N(0, 1/D)
//   so that √D·E has unit scale like PE (fairseq's init). Decoding: start() runs the encoder and
//   projects m into every cross-attention's keys/values once; step() runs the new token only, with a
//   per-layer self-attention KV cache (set_kv_cache(false): re-run the whole prefix each step, the
//   reference the cached path is tested against).
// Legend: S source length, T target length (+1 for <eos>), B batch, E embedding, H hidden,
// V vocabulary, A attention width (= H).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "recurrent/core/rng.h"
#include "recurrent/data/parallel_text.h"
#include "recurrent/nn/classic_attention.h"
#include "recurrent/nn/module.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/nn/transformer.h"
#include "recurrent/train/run.h"

namespace recurrent::tasks {

std::vector<std::string> seq2seq_tokens(const std::string& text_utf8, const std::string& where);

class TokenVocab {
 public:
  TokenVocab() = default;
  explicit TokenVocab(std::vector<std::string> tokens);
  // From training token lists: specials first, then tokens by count (ties: byte order), ≤ max_size (0: all).
  static TokenVocab build(const std::vector<std::vector<std::string>>& sentences, std::vector<std::string> specials,
                          int64_t max_size, int64_t min_count = 1);
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t id(const std::string& t) const;  // 0 (<unk>) if absent
  const std::string& token(int64_t id) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> index_;
};

inline constexpr int64_t kUnk = 0, kBos = 1, kEos = 2;

enum class AttentionKind { none, bahdanau, luong_dot, luong_general };
AttentionKind parse_attention(const std::string& s);  // throws Error("--attention", ...)
const char* attention_name(AttentionKind a);

struct Seq2SeqConfig {
  std::string arch = "rnn";
  TokenVocab src, tgt;
  int64_t embed = 0;
  std::vector<LayerSpec> layers;  // decoder sizes; the encoder's are the same (halved per direction if bidirectional)
  bool bidirectional = false;
  float dropout = 0.0f;
  AttentionKind attention = AttentionKind::bahdanau;  // rnn only
  // arch "transformer": `depth` encoder and `depth` decoder blocks of width d_model, `heads` heads,
  // feed-forward width ff (the CLI's --layers, --d-model, --heads, --ff); dropout as above.
  int64_t depth = 0, d_model = 0, heads = 0, ff = 0;

  std::string to_json() const;
  static Seq2SeqConfig from_json(const std::string& json, const std::string& where);
  void validate() const;  // errors name the option (--hidden, --embed, ...)
};

// One batch of encoded pairs: sources (ids, no specials) and targets (ids, no specials).
struct Seq2SeqBatch {
  std::vector<const std::vector<int64_t>*> src, tgt;
};

// Decoder state of B hypotheses; each architecture keeps what it needs in its own subclass.
struct DecoderState {
  virtual ~DecoderState() = default;
  int64_t batch = 0;
  std::vector<int64_t> src_len;  // [B]
  Tensor last_attention;         // [B, S] α of the last step (empty without attention)
};

class Seq2SeqModel : public Module {
 public:
  explicit Seq2SeqModel(Seq2SeqConfig cfg) : cfg_(std::move(cfg)) {}
  const Seq2SeqConfig& config() const { return cfg_; }
  virtual Var forward(const Seq2SeqBatch& b) = 0;  // logits [B, T, V], T = longest target + 1 (<eos>)
  virtual std::unique_ptr<DecoderState> start(const std::vector<const std::vector<int64_t>*>& src) = 0;
  virtual Tensor step(DecoderState& s, const std::vector<int64_t>& prev) = 0;  // log-probs [B, V]
  virtual void reorder(DecoderState& s, const std::vector<int64_t>& from) = 0;
  virtual std::vector<Rng*> dropout_rngs() = 0;  // saved in checkpoints for exact resume

  std::vector<int64_t> encode_source(const std::string& text, const std::string& where) const;  // ≥ 1 id
  std::vector<int64_t> encode_target(const std::string& text, const std::string& where) const;
  std::string render(const std::vector<int64_t>& tgt_ids) const;  // tokens joined by spaces

 protected:
  Seq2SeqConfig cfg_;
};

class RnnSeq2Seq : public Seq2SeqModel {
 public:
  RnnSeq2Seq(Seq2SeqConfig cfg, Rng& rng);
  Var forward(const Seq2SeqBatch& b) override;
  std::unique_ptr<DecoderState> start(const std::vector<const std::vector<int64_t>*>& src) override;
  Tensor step(DecoderState& s, const std::vector<int64_t>& prev) override;
  void reorder(DecoderState& s, const std::vector<int64_t>& from) override;
  std::vector<Rng*> dropout_rngs() override { return {&dropout_rng_, &encoder_->dropout_rng(), &decoder_->dropout_rng()}; }

 private:
  struct Encoded;
  Encoded encode(const std::vector<const std::vector<int64_t>*>& src);
  AttentionResult attend_and_project(const Var& d, const Encoded& e);  // d [B, T, H] → {logits [B, T, V], α}

  Var emb_src_, emb_tgt_, comb_w_, comb_b_, out_w_, out_b_;
  std::shared_ptr<RNN> encoder_, decoder_;
  std::shared_ptr<AdditiveAttention> additive_;
  std::shared_ptr<MultiplicativeAttention> multiplicative_;
  Rng dropout_rng_;
};

class TransformerSeq2Seq : public Seq2SeqModel {
 public:
  TransformerSeq2Seq(Seq2SeqConfig cfg, Rng& rng);
  Var forward(const Seq2SeqBatch& b) override;
  std::unique_ptr<DecoderState> start(const std::vector<const std::vector<int64_t>*>& src) override;
  Tensor step(DecoderState& s, const std::vector<int64_t>& prev) override;
  void reorder(DecoderState& s, const std::vector<int64_t>& from) override;
  std::vector<Rng*> dropout_rngs() override;
  void set_kv_cache(bool on) { kv_cache_ = on; }  // off: step() recomputes the whole target prefix

 private:
  Var embed(const Var& table, const std::vector<int64_t>& ids, int64_t B, int64_t T, int64_t offset);
  Var encode(const std::vector<const std::vector<int64_t>*>& src, Tensor& padding);      // → m [B, S, D]
  Var decode(const Var& memory, const Tensor& padding, const std::vector<int64_t>& ids, int64_t B, int64_t T);
  struct Stack;
  std::shared_ptr<Stack> encoder_, decoder_;
  Var emb_src_, emb_tgt_;
  Rng dropout_rng_;
  bool kv_cache_ = true;
};

// Builds the model of cfg.arch ("rnn" or "transformer"; others throw Error("--arch", ...)).
std::unique_ptr<Seq2SeqModel> make_seq2seq(const Seq2SeqConfig& cfg, Rng& rng);
std::unique_ptr<Seq2SeqModel> load_seq2seq(const std::string& model_path);  // file or run directory

// ---- decoding ------------------------------------------------------------------------------------
struct DecodeOptions {
  int64_t beam = 1;            // 1: greedy
  int64_t max_len = 0;         // 0: 2·|source| + 10
  double length_penalty = 1.0; // beam: finished hypotheses ranked by log p / length^α
  bool keep_attention = false; // record α per output step (for --attention-out)
};
struct Translation {
  std::vector<int64_t> ids;                 // without <eos>
  double log_prob = 0.0;                      // Σ log p of ids (and of <eos> when ended)
  bool ended = false;                         // emitted <eos> (else cut at max_len)
  std::vector<std::vector<float>> attention;  // [steps incl. <eos>][S] when kept and available
};
// Greedy decoding runs B sources at once; beam search (beam > 1) one source at a time (K
// hypotheses as a batch). beam_search() is the latter for one source and any K ≥ 1 (K = 1 gives
// the greedy translation: tested).
Translation beam_search(Seq2SeqModel& m, const std::vector<int64_t>& source, const DecodeOptions& o);
std::vector<Translation> translate(Seq2SeqModel& m, const std::vector<std::vector<int64_t>>& sources,
                                   const DecodeOptions& o, int64_t batch = 64);

// ---- evaluation ------------------------------------------------------------------------------------
struct Seq2SeqEval {
  int64_t n = 0;
  double loss = 0.0;          // teacher-forced cross-entropy per target token (nats)
  double bleu = 0.0;          // corpus BLEU (tasks/bleu.h) of the rendered translations against the
                              // references lower-cased and tokenised as the model's target side
  double exact_match = 0.0;   // fraction of translations whose tokens equal the reference's
  std::vector<double> precisions;  // p_1..p_4 (%)
  double brevity_penalty = 1.0;
  std::vector<std::string> hypotheses;
  double copy_bleu = 0.0;     // the baseline: copy_source_bleu(set)
};
// Corpus BLEU of the baseline that copies the source: each source as the hypothesis for its target, both
// lower-cased and tokenised as the model's target side (seq2seq_tokens), as `bleu` scores a translation.
double copy_source_bleu(const data::ParallelSet& set);
Seq2SeqEval evaluate_seq2seq(Seq2SeqModel& m, const data::ParallelSet& set, const DecodeOptions& o,
                             bool with_loss = true, int64_t batch = 64);

// ---- training ----------------------------------------------------------------------------------------
// The run options (out, resume, force, epochs, time_budget, max_steps, seed, quiet, log_every,
// command) are train::RunOptions's, shared by every task.
struct Seq2SeqTrainOptions : train::RunOptions {
  std::string data, valid, test;
  std::string arch = "rnn";
  std::string attention = "bahdanau";
  int64_t src_vocab = 8000, tgt_vocab = 8000, min_count = 1;
  int64_t max_len = 0;        // > 0: drop training pairs with more tokens on either side (valid/test kept)
  int64_t eval_max_len = 0;   // > 0: also drop longer valid/test pairs (a short-sentence benchmark)
  std::string cells = "lstm", hidden = "256";
  double recurrent_dropout = 0.0, zoneout = 0.0;  // inside the recurrence, every layer (rnn_types.h LayerSpec)
  int64_t embed = 0, layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;
  int64_t batch = 32;
  std::string optimizer = "adam";
  double lr = 1e-3, clip = 5.0;
  int64_t warmup = 0;         // steps of linear lr warm-up (0: none)
  int64_t heads = 4, d_model = 128, ff = 512;  // --arch transformer (with `layers` blocks per side)
  int64_t beam = 1;           // decoding for validation / test BLEU
  int64_t valid_every = 0;    // > 0: also validate every N steps (else once per epoch)
  int64_t patience = 5;       // > 0: stop after this many epochs without a better validation BLEU (early stopping;
                              // the best weights are the model); 0: off
};
enum class Seq2SeqOutcome { finished, stopped };
// Without --valid / --test, pair i is test if i % 10 == 9, valid if i % 10 == 8 (as train classify).
Seq2SeqOutcome train_seq2seq(const Seq2SeqTrainOptions& o);

}  // namespace recurrent::tasks
