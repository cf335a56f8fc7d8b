// recurrent train forecast — time-series forecasting from a CSV column (direct multi-step).
//
//   recurrent train forecast --data F.csv --column NAME [--time-column NAME] [--features A,B]
//     --lookback L --horizon H [--season S] [--relative] [--gaps interpolate|drop]
//     [--valid-frac 0.15 --test-frac 0.15] --cell lstm --hidden 64 --layers 1 [--bidirectional]
//     --dropout 0 --batch 32 (--epochs N | --time-budget 5m) --optimizer adam --lr 2e-3 --clip 1
//     --out DIR [--resume DIR]
// Writes DIR/last.safetensors, DIR/best.safetensors (lowest validation MAE), DIR/metrics.csv and
// DIR/results.json; prints validation and test MAE / RMSE / MASE with the baselines' MASE.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_forecast(CLI::App& train) {
  auto o = std::make_shared<tasks::ForecastTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("forecast", "train an RNN forecaster on a CSV time series (direct multi-step)");
  c->add_option("--data", o->data, "CSV with a header, one row per time step in time order")
      ->required()->check(CLI::ExistingFile);
  c->add_option("--column", o->column, "the column to forecast")->required();
  c->add_option("--time-column", o->time_column, "column with the time of each row (for forecasts and plots)");
  c->add_option("--features", o->features, "extra input columns, comma-separated (their past values are inputs)");
  c->add_option("--lookback", o->lookback, "rows the model reads before each forecast origin (L)")->required();
  c->add_option("--horizon", o->horizon, "steps forecast from each origin, all at once (H)")->required();
  c->add_option("--season", o->season, "season length in rows for the seasonal-naive baseline (1: none)")
      ->capture_default_str();
  c->add_flag("--relative", o->relative, "inputs and forecasts relative to the last observed value (trends)");
  c->add_option("--gaps", o->gaps, "empty cells: interpolate (linearly, for inputs) or drop (skip windows with "
                "a gap in their inputs); windows with a gap among their targets are always skipped")->capture_default_str();
  c->add_option("--valid-frac", o->valid_frac, "validation part: the rows before the test part")->capture_default_str();
  c->add_option("--test-frac", o->test_frac, "test part: the last rows")->capture_default_str();
  c->add_option("--cell", o->cells, "cell per layer (one name or a comma list): rnn_tanh rnn_relu lstm "
                "lstm_peephole gru gru_cho gru_simple")->capture_default_str();
  c->add_option("--hidden", o->hidden, "hidden size, or a comma list per layer")->capture_default_str();
  c->add_option("--layers", o->layers, "recurrent layers")->capture_default_str();
  c->add_flag("--bidirectional", o->bidirectional, "read the lookback window both ways (final states concatenated)");
  c->add_option("--dropout", o->dropout, "dropout between layers and before the output")->capture_default_str();
  c->add_option("--batch", o->batch, "windows per batch")->capture_default_str();
  c->add_option("--epochs", o->epochs, "passes over the training windows (default 100 without --time-budget)");
  c->add_option("--time-budget", *budget, "training wall time incl. validation: 90s, 30m, 1.5h");
  c->add_option("--max-steps", o->max_steps, "stop after this many steps in total, saving last.safetensors");
  c->add_option("--optimizer", o->optimizer, "sgd, adam, adamw, rmsprop or adagrad")->capture_default_str();
  c->add_option("--lr", o->lr, "learning rate")->capture_default_str();
  c->add_option("--clip", o->clip, "clip the global gradient norm to this (0: off)")->capture_default_str();
  c->add_option("--log-every", o->log_every, "seconds between progress lines when stderr is not a terminal")
      ->capture_default_str();
  c->add_option("--out", o->out, "output directory (default: the --resume directory)");
  c->add_option("--resume", o->resume, "continue the run saved in this directory (its last.safetensors)");
  c->add_option("--seed", o->seed, "random seed (initialisation, order, dropout)")->capture_default_str();
  c->add_flag("--quiet", o->quiet, "no progress on stderr");
  c->callback([o, budget, c] {
    finish_loop_options(c, *o, *budget, 100);
    if (tasks::train_forecaster(*o) == tasks::ForecastOutcome::stopped && train::interrupted()) std::exit(130);
  });
}

}  // namespace recurrent::cli
