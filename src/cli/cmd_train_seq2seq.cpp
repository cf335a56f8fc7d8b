// recurrent train seq2seq — encoder-decoder with attention (translation).
//
//   recurrent train seq2seq --data pairs.tsv [--valid F --test F] --attention none|bahdanau|luong-dot|luong-general
//     --cell lstm --hidden 256 --layers 1 [--bidirectional] --embed 0 --dropout 0.2 --src-vocab 8000 --tgt-vocab 8000
//     --max-len 20 --batch 32 (--epochs N | --time-budget 15m) --optimizer adam --lr 1e-3 --out DIR [--resume DIR]
//   recurrent train seq2seq --arch transformer --layers 3 --heads 4 --d-model 256 --ff 1024 [--warmup 400] ...
// F: `source<TAB>target` lines. Writes DIR/{last,best}.safetensors (best = highest validation BLEU),
// DIR/metrics.csv, DIR/results.json and DIR/{valid,test}.hyp.txt; prints validation and test BLEU.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_seq2seq(CLI::App& train) {
  auto o = std::make_shared<tasks::Seq2SeqTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("seq2seq", "train an encoder-decoder with attention (translation)");
  c->add_option("--data", o->data, "training pairs source<TAB>target; without --valid/--test pair i goes to test if "
                "i%10==9, valid if i%10==8")->required()->check(checked("file"));
  c->add_option("--valid", o->valid, "validation pairs (model selection by greedy BLEU)")->check(checked("file"));
  c->add_option("--test", o->test, "test pairs, evaluated with the best model at the end")->check(checked("file"));
  c->add_option("--arch", o->arch, "rnn (--cell, --hidden, --embed, --bidirectional, --attention) or transformer "
                "(--heads, --d-model, --ff)")->capture_default_str()->check(choice({"rnn", "transformer"}));
  c->add_option("--attention", o->attention, "none, bahdanau (additive), luong-dot or luong-general")
      ->capture_default_str()->check(choice({"none", "bahdanau", "luong-dot", "luong-general"}));
  c->add_option("--src-vocab", o->src_vocab, "source vocabulary size incl. <unk> (0: all training words)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--tgt-vocab", o->tgt_vocab, "target vocabulary size incl. <unk> <bos> <eos> (0: all)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--min-count", o->min_count, "rarer training words become <unk>")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-len", o->max_len, "drop training pairs with more words on either side (0: keep all)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--eval-max-len", o->eval_max_len, "also drop longer validation/test pairs (0: keep all)")
      ->capture_default_str()->check(checked("count"));
  add_stack_options(c, o->cells, o->hidden, o->layers);
  add_recurrence_options(c, o->recurrent_dropout, o->zoneout);
  c->get_option("--hidden")->description("hidden size, or a comma list per layer (encoder and decoder)");
  c->get_option("--layers")->description("recurrent layers, or transformer blocks, in the encoder and in the decoder");
  c->add_option("--heads", o->heads, "transformer: attention heads")->capture_default_str()->check(checked("positive"));
  c->add_option("--d-model", o->d_model, "transformer: model width (embeddings, attention; a multiple of --heads)")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--ff", o->ff, "transformer: feed-forward width")->capture_default_str()->check(checked("positive"));
  c->add_option("--embed", o->embed, "embedding size, both sides (0: the first hidden size)")->capture_default_str()
      ->check(checked("count"));
  c->add_flag("--bidirectional", o->bidirectional, "bidirectional encoder (each direction gets half the hidden units)");
  c->add_option("--dropout", o->dropout, "dropout on embeddings, between layers and before the output")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--warmup", o->warmup, "steps of linear learning-rate warm-up (0: none)")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--beam", o->beam, "also report test BLEU with this beam width (1: greedy only)")
      ->capture_default_str()->check(checked("positive"));
  c->add_option("--valid-every", o->valid_every, "also validate every N steps (0: once per epoch)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation BLEU (0: off)")
      ->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget, "sentence pairs per batch");
  c->callback([o, budget, c] {
    // Options of the other architecture are a mistake, not something to ignore silently.
    const bool tf = o->arch == "transformer";
    for (const char* opt : {"--cell", "--hidden", "--embed", "--bidirectional", "--attention"})
      if (tf && c->count(opt)) throw Error(opt, "is an RNN option; --arch transformer uses --heads, --d-model, --ff");
    for (const char* opt : {"--heads", "--d-model", "--ff"})
      if (!tf && c->count(opt)) throw Error(opt, "is a transformer option (add --arch transformer)");
    finish_loop_options("seq2seq", c, *o, *budget);
    if (tasks::train_seq2seq(*o) == tasks::Seq2SeqOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
