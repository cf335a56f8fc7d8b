// recurrent train lm — train a character- or word-level language model: an RNN, or a GPT-style
// causal transformer (--arch transformer, tasks/lm_transformer.h).
//
//   recurrent train lm --data FILE [--valid F --test F] --level char|word --cell lstm --hidden 512
//     --layers 2 --dropout 0.2 --seq-len 100 --batch 32 (--epochs N | --time-budget 30m)
//     --optimizer adam --lr 2e-3 --clip 5 --out DIR [--resume DIR] [--seed S]
//   recurrent train lm --arch transformer --layers 4 --heads 4 --d-model 128 --ff 512 --context 128
//     [--pos learned|sinusoidal] [--warmup 100] ... (the same data, training and output options)
// Writes DIR/last.safetensors (every epoch, at the end, on Ctrl-C), DIR/best.safetensors (best
// validation loss), DIR/metrics.csv and DIR/results.json; prints valid/test figures on stdout.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_lm(CLI::App& train) {
  auto o = std::make_shared<tasks::LmTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("lm", "train a character- or word-level language model (an RNN, or a transformer with --arch transformer)");
  c->add_option("--data", o->data, "UTF-8 training text; without --valid it is split 90/5/5 (train/valid/test), contiguous")
      ->required()->check(checked("file"));
  c->add_option("--valid", o->valid, "validation text (then --data is all training text)")->check(checked("file"));
  c->add_option("--test", o->test, "test text, evaluated with the best model at the end")->check(checked("file"));
  c->add_option("--level", o->level, "char (Unicode code points) or word (whitespace tokens, <eos> per line)")
      ->capture_default_str()->check(choice({"char", "word"}));
  c->add_flag("--lower", o->lower, "word level: lower-case the text");
  c->add_option("--min-count", o->min_count, "word level: rarer words become <unk>")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-vocab", o->max_vocab, "word level: vocabulary size incl. <unk>/<eos> (0: no limit)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--arch", o->arch, "rnn (--cell, --hidden, --embed) or transformer (--heads, --d-model, --ff, --context)")
      ->capture_default_str()->check(choice({"rnn", "transformer"}));
  add_stack_options(c, o->cells, o->hidden, o->layers);
  add_recurrence_options(c, o->recurrent_dropout, o->zoneout);
  c->get_option("--layers")->description("recurrent layers, or transformer blocks");
  c->add_option("--heads", o->heads, "transformer: attention heads")->capture_default_str()->check(checked("positive"));
  c->add_option("--d-model", o->d_model, "transformer: model width (embedding, attention; a multiple of --heads)")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--ff", o->ff, "transformer: feed-forward width")->capture_default_str()->check(checked("positive"));
  c->add_option("--context", o->context, "transformer: context length = training window (default: --seq-len)")
      ->check(checked("positive"));
  c->add_option("--pos", o->pos, "transformer: positions, learned (GPT-2) or sinusoidal (Vaswani et al.)")
      ->capture_default_str()->check(choice({"learned", "sinusoidal"}));
  c->add_option("--warmup", o->warmup, "steps of linear learning-rate warm-up (0: none)")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--precision", o->precision,
                "fp32, or bf16: the recurrent layers' products with bf16 operands and fp32 accumulation "
                "(needs AVX512_BF16; saved in the model, so sample/eval run it the same way)")
      ->check(choice({"fp32", "bf16"}))->capture_default_str();
  c->add_option("--embed", o->embed, "embedding size (0: the first hidden size)")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--dropout", o->dropout, "dropout on the embedding, between layers and before the decoder")
      ->capture_default_str()->check(checked("fraction"));
  c->add_flag("--tie-weights", o->tie_weights, "share the embedding and decoder weights (needs embed == last hidden)");
  c->add_option("--init-range", o->init_range, "> 0: every weight and bias U(-a, a) (Zaremba: 0.1; norm gains and RG-LRU lambda keep theirs); 0: PyTorch defaults")
      ->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--seq-len", o->seq_len, "truncated BPTT length (steps per chunk)")->capture_default_str()
      ->check(checked("positive"));
  add_loop_options(c, *o, *budget, "contiguous rows per batch");
  c->add_option("--lr-decay", o->lr_decay, "lr factor when the validation loss stops improving, in (0, 1)")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--patience", o->patience, "epochs without improvement before the lr decays (not with --decay-start)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--stop-patience", o->stop_patience, "stop after this many epochs without a better validation loss "
                "(early stopping: the best epoch's weights are the model; 0: off)")->capture_default_str()->check(checked("count"));
  c->add_option("--decay-start", o->decay_start, "> 0: instead decay every epoch from this one on (Zaremba: 4)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--eval-batch", o->eval_batch, "rows when evaluating")->capture_default_str()->check(checked("positive"));
  c->add_option("--log-interval", o->log_interval, "steps per metrics.csv row")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--diagnostics", o->diagnostics,
                "every N steps (N defaults to 100 when --diagnostics is given alone; off without it): ‖∂L/∂h_t‖ per "
                "step and layer, gradient norms, gate statistics into DIR/diagnostics.jsonl (docs/gradlab.md)")
      ->expected(0, 1)->default_str("100")->option_text("[N]")->check(checked("positive"));  // no "=100" in --help: off by default
  c->callback([o, budget, c] {
    // Options of the other architecture are a mistake, not something to ignore silently.
    const bool tf = o->arch == "transformer";
    for (const char* opt : {"--cell", "--hidden", "--embed", "--tie-weights", "--init-range", "--precision"})
      if (tf && c->count(opt)) throw Error(opt, "is an RNN option; --arch transformer uses --heads, --d-model, --ff, --context");
    for (const char* opt : {"--heads", "--d-model", "--ff", "--context", "--pos"})
      if (!tf && c->count(opt)) throw Error(opt, "is a transformer option (add --arch transformer)");
    for (const char* opt : {"--lower", "--min-count", "--max-vocab"})
      if (o->level == "char" && c->count(opt)) throw Error(opt, "applies to --level word (this is a character model)");
    if (tf && o->context > 0 && c->count("--seq-len") == 0) o->seq_len = o->context;
    RC_CHECK(!(c->count("--patience") && c->count("--decay-start")), "--patience",
             "applies to the decay on plateau; --decay-start decays every epoch instead (give one of them)");
    finish_loop_options("lm", c, *o, *budget);
    if (tasks::train_lm(*o) == tasks::TrainOutcome::stopped && train::interrupted())
      std::exit(128 + train::interrupt_signal());  // checkpoint saved, files flushed; as shells report
  });
}

}  // namespace recurrent::cli
