// recurrent train classify — many-to-one text classification (sentiment and the like).
//
//   recurrent train classify --data F [--data F2 ...] [--valid F --test F] --level word|char
//     --cell lstm --hidden 128 --layers 1 [--no-bidirectional] --pool max|last|mean --dropout 0.5
//     --batch 32 (--epochs N | --time-budget 5m) --optimizer adam --lr 2e-3 --out DIR [--resume DIR]
//     [--folds 10 --fold i] [--word-dropout p] [--weight-decay w] [--patience N]
//     [--init-from LMDIR [--lm-vocab]] [--init-from-reverse LMDIR] [--class-weight balanced|none]
// F: TSV `label<TAB>text`, JSON lines {"text","label"} or a JSON array of such objects.
// Writes DIR/last.safetensors, DIR/best.safetensors (best validation macro-F1), DIR/metrics.csv and
// DIR/results.json; prints validation and test accuracy / macro-F1 on stdout.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_classify(CLI::App& train) {
  auto o = std::make_shared<tasks::ClassifyTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("classify", "train an RNN text classifier (many-to-one)");
  c->add_option("--data", o->data, "labelled training sentences (repeat to concatenate files); without --valid/--test "
                "item i goes to test if i%10==9, valid if i%10==8")->required()->check(checked("file"));
  c->add_option("--valid", o->valid, "validation file (model selection)")->check(checked("file"));
  c->add_option("--test", o->test, "test file, evaluated with the best model at the end")->check(checked("file"));
  c->add_option("--format", o->format, "auto, tsv (label<TAB>text), jsonl or json (array)")->capture_default_str()->check(choice({"auto", "tsv", "jsonl", "json"}));
  c->add_option("--level", o->level, "word (lower-cased words and punctuation) or char")->capture_default_str()->check(choice({"word", "char"}));
  c->add_flag("--keep-case", o->keep_case, "word level: do not lower-case");
  c->add_option("--min-count", o->min_count, "rarer training tokens become <unk>")->capture_default_str()->check(checked("positive"));
  c->add_option("--max-vocab", o->max_vocab, "vocabulary size incl. <unk> (0: no limit)")->capture_default_str()->check(checked("count"));
  add_stack_options(c, *o);
  c->add_option("--embed", o->embed, "embedding size (0: the first hidden size)")->capture_default_str()->check(checked("count"));
  c->add_flag("--bidirectional,!--no-bidirectional", o->bidirectional, "both directions in every layer (outputs "
              "concatenated; the default); --no-bidirectional: forward only");
  c->add_option("--pool", o->pool, "last (final states), mean or max (over each sentence's length)")
      ->capture_default_str()->check(choice({"last", "mean", "max"}));
  c->add_option("--dropout", o->dropout, "dropout on the embedding, between layers and before the output")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--word-dropout", o->word_dropout, "training: replace each token by <unk> with this probability")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--folds", o->folds, "split --data into K positional folds (item i in fold i%K)")->capture_default_str()->check(checked("positive"));
  c->add_option("--fold", o->fold, "test fold (validation: the fold before it); default K-1: 80/10/10 for K=10")
      ->check(checked("count"));
  c->add_option("--init-from", o->init_from, "word-level LM (train lm --level word): copy embedding rows by "
                "token and the RNN's tensors by name (ULMFiT-style)")->check(checked("path"));
  c->add_option("--init-from-reverse", o->init_from_reverse, "LM trained on reversed sentences: initialises the "
                "reverse direction (with --bidirectional)")->check(checked("path"));
  c->add_flag("--lm-vocab", o->lm_vocab, "with --init-from: add the LM's words to the vocabulary");
  c->add_option("--weight-decay", o->weight_decay, "weight decay (adamw: decoupled; others: L2 in the gradient); "
                "default: the optimizer's (0; adamw 1e-2)")->check(checked("nonneg-real"));
  c->add_option("--class-weight", o->class_weight, "balanced (each class weighs as much in the loss, for unbalanced "
                "labels) or none")->capture_default_str()->check(choice({"balanced", "none"}));
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation macro-F1 (0: off)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--search", o->search, "try the first N candidate settings of docs/defaults.md's evidence table "
                "(they set --cell, --hidden, --[no-]bidirectional, --pool, --dropout, --word-dropout) by successive halving on the validation macro-F1 within the one budget, keep "
                "the best (trials in DIR/trials, log in DIR/trials.csv; 0: off)")->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget);
  c->callback([o, budget, c] {
    for (const char* opt : {"--folds", "--fold"})
      RC_CHECK(c->count(opt) == 0 || (c->count("--valid") == 0 && c->count("--test") == 0), opt,
               "splits --data into folds; with --valid/--test the parts are those files (give one or the other)");
    finish_loop_options("classify", c, *o, *budget);
    if (tasks::train_classifier(*o) == tasks::ClassifyOutcome::stopped && train::interrupted())
      std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
