// recurrent train TASK ... — the training subcommands, one file per task (cmd_train_<task>.cpp).
#include "cli/commands.h"

namespace recurrent::cli {

CLI::App* train_group(CLI::App& app) {
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == "train") return s;
  CLI::App* t = app.add_subcommand("train", "train a model: recurrent train lm --help");
  t->require_subcommand(1);
  return t;
}

void add_train(CLI::App& app) {
  add_train_lm(*train_group(app));
  add_train_classify(*train_group(app));
  add_train_forecast(*train_group(app));
  add_train_tag(*train_group(app));
  add_train_condlm(*train_group(app));
  add_train_seq2seq(*train_group(app));
  add_train_music(*train_group(app));
  add_train_asr(*train_group(app));
  add_train_esn(*train_group(app));
}

}  // namespace recurrent::cli
