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
#include "recurrent/core/error.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_lm(CLI::App& train) {
  auto o = std::make_shared<tasks::LmTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("lm", "train a character- or word-level RNN language model");
  c->add_option("--data", o->data, "UTF-8 training text; without --valid it is split 90/5/5 (train/valid/test), contiguous")
      ->required()->check(CLI::ExistingFile);
  c->add_option("--valid", o->valid, "validation text (then --data is all training text)")->check(CLI::ExistingFile);
  c->add_option("--test", o->test, "test text, evaluated with the best model at the end")->check(CLI::ExistingFile);
  c->add_option("--level", o->level, "char (Unicode code points) or word (whitespace tokens, <eos> per line)")
      ->capture_default_str();
  c->add_flag("--lower", o->lower, "word level: lower-case the text");
  c->add_option("--min-count", o->min_count, "word level: rarer words become <unk>")->capture_default_str();
  c->add_option("--max-vocab", o->max_vocab, "word level: vocabulary size incl. <unk>/<eos> (0: no limit)")
      ->capture_default_str();
  c->add_option("--arch", o->arch, "rnn (--cell, --hidden, --embed) or transformer (--heads, --d-model, --ff, --context)")
      ->capture_default_str();
  c->add_option("--cell", o->cells, "cell per layer: rnn_tanh rnn_relu lstm lstm_peephole gru gru_cho gru_simple; "
                "one name or a comma list (mixed cells)")->capture_default_str();
  c->add_option("--hidden", o->hidden, "hidden size, or a comma list per layer")->capture_default_str();
  c->add_option("--layers", o->layers, "recurrent layers, or transformer blocks")->capture_default_str();
  c->add_option("--heads", o->heads, "transformer: attention heads")->capture_default_str();
  c->add_option("--d-model", o->d_model, "transformer: model width (embedding, attention; a multiple of --heads)")
      ->capture_default_str();
  c->add_option("--ff", o->ff, "transformer: feed-forward width")->capture_default_str();
  c->add_option("--context", o->context, "transformer: context length = training window (default: --seq-len)");
  c->add_option("--pos", o->pos, "transformer: positions, learned (GPT-2) or sinusoidal (Vaswani et al.)")
      ->capture_default_str();
  c->add_option("--warmup", o->warmup, "steps of linear learning-rate warm-up (0: none)")->capture_default_str();
  c->add_option("--precision", o->precision,
                "fp32, or bf16: the recurrent layers' products with bf16 operands and fp32 accumulation "
                "(needs AVX512_BF16; saved in the model, so sample/eval run it the same way)")
      ->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  c->add_option("--embed", o->embed, "embedding size (0: the first hidden size)")->capture_default_str();
  c->add_option("--dropout", o->dropout, "dropout on the embedding, between layers and before the decoder")
      ->capture_default_str();
  c->add_flag("--tie-weights", o->tie_weights, "share the embedding and decoder weights (needs embed == last hidden)");
  c->add_option("--init-range", o->init_range, "> 0: every parameter U(-a, a) (Zaremba: 0.1); 0: PyTorch defaults")
      ->capture_default_str();
  c->add_option("--seq-len", o->seq_len, "truncated BPTT length (steps per chunk)")->capture_default_str();
  c->add_option("--batch", o->batch, "contiguous rows per batch")->capture_default_str();
  c->add_option("--epochs", o->epochs, "passes over the training text (default 10 without --time-budget; with it, 0 = until it ends)");
  c->add_option("--time-budget", *budget, "training wall time incl. validation: 90s, 30m, 1.5h");
  c->add_option("--max-steps", o->max_steps, "stop after this many steps in total, saving last.safetensors");
  c->add_option("--optimizer", o->optimizer, "sgd, adam, adamw, rmsprop or adagrad")->capture_default_str();
  c->add_option("--lr", o->lr, "learning rate")->capture_default_str();
  c->add_option("--clip", o->clip, "clip the global gradient norm to this (0: off)")->capture_default_str();
  c->add_option("--lr-decay", o->lr_decay, "lr factor when the validation loss stops improving")->capture_default_str();
  c->add_option("--patience", o->patience, "epochs without improvement before decaying")->capture_default_str();
  c->add_option("--decay-start", o->decay_start, "> 0: instead decay every epoch from this one on (Zaremba: 4)")
      ->capture_default_str();
  c->add_option("--eval-batch", o->eval_batch, "rows when evaluating")->capture_default_str();
  c->add_option("--log-interval", o->log_interval, "steps per metrics.csv row")->capture_default_str();
  c->add_option("--log-every", o->log_every, "seconds between progress lines when stderr is not a terminal")
      ->capture_default_str();
  c->add_option("--out", o->out, "output directory (default: the --resume directory)");
  c->add_option("--resume", o->resume, "continue the run saved in this directory (its last.safetensors)");
  c->add_option("--seed", o->seed, "random seed (initialisation, offsets, dropout)")->capture_default_str();
  c->add_flag("--quiet", o->quiet, "no progress on stderr");
  c->add_option("--diagnostics", o->diagnostics,
                "every N steps (default 100 when given without N): ‖∂L/∂h_t‖ per step and layer, gradient norms, "
                "gate statistics into DIR/diagnostics.jsonl (docs/gradlab.md)")
      ->expected(0, 1)->default_str("100");
  c->callback([o, budget, c] {
    // Options of the other architecture are a mistake, not something to ignore silently.
    const bool tf = o->arch == "transformer";
    for (const char* opt : {"--cell", "--hidden", "--embed", "--tie-weights", "--init-range", "--precision"})
      if (tf && c->count(opt)) throw Error(opt, "is an RNN option; --arch transformer uses --heads, --d-model, --ff, --context");
    for (const char* opt : {"--heads", "--d-model", "--ff", "--context", "--pos"})
      if (!tf && c->count(opt)) throw Error(opt, "is a transformer option (add --arch transformer)");
    if (c->count("--resume") && c->count("--precision"))  // never train silently in another precision
      throw Error("--precision", "a resumed run keeps its checkpoint's precision (saved in its config); drop --precision");
    if (tf && o->context > 0 && c->count("--seq-len") == 0) o->seq_len = o->context;
    if (!budget->empty()) o->time_budget = train::parse_duration(*budget, "--time-budget");
    if (c->count("--epochs") == 0 && o->time_budget == 0 && o->max_steps == 0) o->epochs = 10;
    if (tasks::train_lm(*o) == tasks::TrainOutcome::stopped && train::interrupted())
      std::exit(130);  // Ctrl-C: checkpoint saved and files flushed; 128 + SIGINT as shells report
  });
}

}  // namespace recurrent::cli
