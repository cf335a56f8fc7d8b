// recurrent train condlm — a label-conditioned sentence language model (one-to-many generation).
//
//   recurrent train condlm --data train.tsv [--valid F --test F] [--no-condition] [--lower]
//     [--min-count N] [--max-vocab N] --cell lstm --hidden 256 --layers 1 --embed 0 --label-embed 16
//     --dropout 0.2 --batch 32 (--epochs N | --time-budget 20m) --optimizer adam --lr 2e-3 --out DIR
// F: `label<TAB>sentence` lines (e.g. Brown genre<TAB>sentence). Writes DIR/{last,best}.safetensors,
// DIR/metrics.csv and DIR/results.json (validation / test perplexity); sample with
// `recurrent sample --model DIR --condition LABEL`.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_condlm(CLI::App& train) {
  auto o = std::make_shared<tasks::CondLmTrainOptions>();
  auto budget = std::make_shared<std::string>();
  auto no_condition = std::make_shared<bool>(false);
  CLI::App* c = train.add_subcommand("condlm", "train a label-conditioned sentence language model (one-to-many)");
  c->add_option("--data", o->data, "label<TAB>sentence lines; without --valid/--test line i goes to test if i%10==9, "
                "valid if i%10==8")->required()
      ->check(checked("file"));
  c->add_option("--valid", o->valid, "validation file (model selection)")
      ->check(checked("file"));
  c->add_option("--test", o->test, "test file, evaluated with the best model at the end")
      ->check(checked("file"));
  c->add_flag("--no-condition", *no_condition, "the baseline: the same network with one label for every sentence");
  c->add_flag("--lower", o->lower, "lower-case the words (ASCII and Latin-1)");
  c->add_option("--min-count", o->min_count, "rarer training words become <unk>")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--max-vocab", o->max_vocab, "vocabulary size incl. <unk> and <eos> (0: no limit)")->capture_default_str()
      ->check(checked("count"));
  add_stack_options(c, *o);
  c->add_option("--embed", o->embed, "word embedding size (0: the first hidden size)")->capture_default_str()
      ->check(checked("count"));
  c->add_option("--label-embed", o->label_embed, "label embedding size (concatenated to every input step)")
      ->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--dropout", o->dropout, "dropout on the inputs, between layers and before the decoder")
      ->capture_default_str()
      ->check(checked("fraction"));
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation loss (0: off)")
      ->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget);
  c->callback([o, budget, no_condition, c] {
    o->conditioned = !*no_condition;
    finish_loop_options("condlm", c, *o, *budget);
    if (tasks::train_condlm(*o) == tasks::CondLmOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
