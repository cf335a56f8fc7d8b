// recurrent/tasks/lm_transformer.h — the GPT-style causal transformer as a language model of the LM
// task (`recurrent train lm --arch transformer`), behind the LmModel interface of tasks/lm.h, so
// training, checkpoints, resume, eval, score and sample are the RNN model's code.
//
//   ids [T, B] → nn/transformer.h TransformerLM (token + learned or sinusoidal positions → N pre-LN
//   causal blocks of H heads, width D, feed-forward F, GELU → LayerNorm → head tied to the token
//   embedding) → logits [T, B, V]. Legend: T steps (≤ C, the context), B batch, V vocabulary.
//   Parameters "transformer.tok_emb.weight", "transformer.layers.{n}.self_attn.in_proj_weight", ...
//
// Training: every chunk of the batcher is an independent window of C = --context steps starting at
// position 0 (no state crosses chunks). Evaluation / scoring / generation: streams with a KV cache;
// when C tokens are cached the window slides to the last C/2 (re-run once), so each token is
// predicted from between C/2 and C tokens before it (the first C/2 of a stream from fewer).
// recurrent.config: {"task": "lm", "arch": "transformer", "level", "lower", "layers", "heads",
// "d_model", "ff", "context", "pos", "dropout", "vocab"}.
#pragma once

#include <memory>
#include <string>

#include "recurrent/nn/transformer.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::tasks {

struct TransformerLmConfig {
  data::Vocab vocab;
  int64_t layers = 2, heads = 4, d_model = 128, ff = 512, context = 128;
  PositionalKind pos = PositionalKind::learned;
  float dropout = 0.0f;

  TransformerLMOptions options() const;  // vocab size from `vocab`; head tied to the embedding, GELU
  std::string to_json() const;
  static TransformerLmConfig from_json(const std::string& json, const std::string& where);
  void validate() const;  // throws Error naming the option (--heads, --d-model, ...)
};

PositionalKind parse_positional(const std::string& s);  // "learned" | "sinusoidal", else Error("--pos")

class TransformerLanguageModel : public LmModel {
 public:
  TransformerLanguageModel(TransformerLmConfig cfg, Rng& rng);  // GPT-2 / PyTorch inits (nn/transformer.h)
  const TransformerLmConfig& config() const { return cfg_; }
  const data::Vocab& vocab() const override { return cfg_.vocab; }
  std::string config_json() const override { return cfg_.to_json(); }
  std::string summary() const override;
  // ids [T·B] time-major, T ≤ context → logits [T, B, V]; `carry` is cleared (nothing crosses chunks).
  Var forward_chunk(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& carry) override;
  std::unique_ptr<LmStreams> streams() override;
  std::vector<std::pair<std::string, Rng*>> dropout_rngs() override;
  TransformerLM& body() { return *lm_; }
  // Streams without a KV cache: every token re-runs its whole window (to measure what the cache saves).
  void set_recompute(bool on) { recompute_ = on; }

 private:
  TransformerLmConfig cfg_;
  bool recompute_ = false;
  std::shared_ptr<TransformerLM> lm_;
};

}  // namespace recurrent::tasks
