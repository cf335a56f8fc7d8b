// recurrent train tag — many-to-many sequence labelling (part-of-speech tags, BIO spans).
//
//   recurrent train tag --data F [--valid F --test F] [--format auto|conll|slash] --cell lstm
//     --hidden 128 --layers 1 --bidirectional --embed 100 --feature-embed 16 --dropout 0.3
//     --batch 32 (--epochs N | --time-budget 20m) --optimizer adam --lr 2e-3 --out DIR [--resume DIR]
// F: CoNLL-style `token<TAB>tag` lines (blank line between sentences) or one sentence of `word/tag`
// tokens per line. Writes DIR/{last,best}.safetensors, DIR/metrics.csv and DIR/results.json; prints
// validation and test accuracy (and span P/R/F1 for BIO tags) beside the most-frequent-tag baseline.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/tasks/tag.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_tag(CLI::App& train) {
  auto o = std::make_shared<tasks::TagTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("tag", "train an RNN sequence tagger (many-to-many: POS, BIO spans)");
  c->add_option("--data", o->data, "tagged training sentences; without --valid/--test sentence i goes to test if "
                "i%10==9, valid if i%10==8")->required()
      ->check(checked("file"));
  c->add_option("--valid", o->valid, "validation file (model selection)")
      ->check(checked("file"));
  c->add_option("--test", o->test, "test file, evaluated with the best model at the end")
      ->check(checked("file"));
  c->add_option("--format", o->format, "auto, conll (token<TAB>tag lines, blank line between sentences) or slash "
                "(word/tag tokens, one sentence per line)")->capture_default_str()
      ->check(choice({"auto", "conll", "slash"}));
  c->add_option("--min-count", o->min_count, "training words seen fewer times are read as <unk> (so <unk> is "
                "trained on the rare words); also the suffix threshold")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-vocab", o->max_vocab, "vocabulary size incl. <unk> (0: no limit)")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--feature-embed", o->feature_embed, "size of the suffix-1/2/3 and word-shape embeddings (0: words only)")
      ->capture_default_str()
      ->check(checked("count"));
  add_stack_options(c, *o);
  c->add_option("--embed", o->embed, "word embedding size")->capture_default_str()
      ->check(checked("positive"));
  c->add_flag("--bidirectional", o->bidirectional, "both directions in every layer (outputs concatenated)");
  c->add_option("--dropout", o->dropout, "dropout on the inputs, between layers and before the output")
      ->capture_default_str()
      ->check(checked("fraction"));
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation score (0: off)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--search", o->search, "try the first N candidate settings (tasks::tag_candidates: the default, a GRU, "
                "dropout 0.3, 64 units) by successive halving on the validation part within the budget and keep "
                "the best (trials in DIR/trials, log in DIR/trials.csv; 0: off)")->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget);
  c->callback([o, budget, c] {
    finish_loop_options("tag", c, *o, *budget);
    if (tasks::train_tagger(*o) == tasks::TagOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
