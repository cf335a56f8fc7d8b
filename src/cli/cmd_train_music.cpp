// recurrent train music — polyphonic music modelling on piano rolls (JSB chorales; tasks/music.h).
//
//   recurrent train music --data data/jsb-chorales/jsb-chorales-quarter.json --cell gru --hidden 41
//     [--layers 1] [--dropout 0] --batch 8 (--epochs N | --time-budget 5m) --optimizer adam --lr 3e-3
//     --clip 1 --patience 20 --out DIR [--resume DIR]
// Writes DIR/last.safetensors, DIR/best.safetensors (lowest validation NLL per step), DIR/metrics.csv
// (one row per epoch: step, valid NLL, frame accuracy, wall seconds) and DIR/results.json; prints the
// validation and test NLL per step and frame accuracy of the best weights.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/tasks/music.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_music(CLI::App& train) {
  auto o = std::make_shared<tasks::MusicTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("music", "train an RNN on piano rolls (88 keys, sigmoid outputs): JSB chorales");
  c->add_option("--data", o->data, "JSON piano rolls {\"train\", \"valid\", \"test\"} (scripts/data/fetch.sh "
                "jsb-chorales)")->required()->check(checked("file"));
  add_stack_options(c, o->cells, o->hidden, o->layers);
  add_recurrence_options(c, o->recurrent_dropout, o->zoneout);
  c->add_option("--dropout", o->dropout, "dropout between layers and before the output")->capture_default_str()
      ->check(checked("fraction"));
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation NLL (0: off); "
                "the best weights are kept")->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget, "chorales per batch");
  c->callback([o, budget, c] {
    finish_loop_options("music", c, *o, *budget, 200);
    if (tasks::train_music(*o) == tasks::MusicOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
