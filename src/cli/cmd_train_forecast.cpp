// recurrent train forecast — time-series forecasting from a CSV column (direct multi-step).
//
//   recurrent train forecast --data F.csv --column NAME [--time-column NAME] [--features A,B]
//     [--lookback L] [--horizon 1] [--season S] [--relative | --no-relative] [--[no-]seasonal-residual]
//     [--patience 20] [--gaps interpolate|drop]
//     [--valid-frac 0.15 --test-frac 0.15] --cell lstm --hidden 64 --layers 1 [--bidirectional]
//     --dropout 0 --batch 32 (--epochs N | --time-budget 5m) --optimizer adam --lr 2e-3 --clip 1
//     --out DIR [--resume DIR]
// Left out, --lookback, --season, --relative and --seasonal-residual are read off the training part
// (tasks::series_shape).
// Writes DIR/last.safetensors, DIR/best.safetensors (lowest validation MAE), DIR/metrics.csv and
// DIR/results.json; prints validation and test MAE / RMSE / MASE with the baselines' MASE.
#include <cstdlib>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

void add_train_forecast(CLI::App& train) {
  auto o = std::make_shared<tasks::ForecastTrainOptions>();
  auto budget = std::make_shared<std::string>();
  CLI::App* c = train.add_subcommand("forecast", "train an RNN forecaster on a CSV time series (direct multi-step)");
  c->add_option("--data", o->data, "CSV with a header, one row per time step in time order")
      ->required()->check(checked("file"));
  c->add_option("--column", o->column, "the column to forecast")->required()->check(checked("text"));
  c->add_option("--time-column", o->time_column, "column with the time of each row (for forecasts and plots)")
      ->check(checked("text"));
  c->add_option("--features", o->features, "extra input columns, comma-separated (their past values are inputs)")
      ->check(checked("text"));
  c->add_option("--lookback", o->lookback, "rows the model reads before each forecast origin (L); default: two "
                "seasons, or twice the reach of the training part's autocorrelation, in [8, 128]")
      ->check(checked("positive"));
  c->add_option("--horizon", o->horizon, "steps forecast from each origin, all at once (H)")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--season", o->season, "season length in rows for the seasonal-naive baseline (1: none); default: "
                "the highest autocorrelation peak of the training part (>= 0.2), else 1")->check(checked("positive"));
  auto relative = std::make_shared<bool>(false), absolute = std::make_shared<bool>(false);
  c->add_flag("--relative", *relative, "inputs and forecasts relative to the last observed value (trends); default: "
              "when the training part's lag-1 autocorrelation is >= 0.95");
  c->add_flag("--no-relative", *absolute, "absolute values (see --relative)");
  auto seasonal = std::make_shared<bool>(false), no_seasonal = std::make_shared<bool>(false);
  c->add_flag("--seasonal-residual", *seasonal, "forecast corrections to the seasonal-naive forecast (needs --season >= 2, "
              "--lookback >= season); default: when seasonal naive beats naive on the training part (and not relative)");
  c->add_flag("--no-seasonal-residual", *no_seasonal, "forecast the values themselves (see --seasonal-residual)");
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation MAE (0: off)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--gaps", o->gaps, "empty cells: interpolate (linearly, for inputs) or drop (skip windows with "
                "a gap in their inputs); windows with a gap among their targets are always skipped")
      ->capture_default_str()->check(choice({"interpolate", "drop"}));
  c->add_option("--valid-frac", o->valid_frac, "validation part: the rows before the test part")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--test-frac", o->test_frac, "test part: the last rows")->capture_default_str()
      ->check(checked("fraction"));
  add_stack_options(c, o->cells, o->hidden, o->layers);
  add_recurrence_options(c, o->recurrent_dropout, o->zoneout);
  c->add_flag("--bidirectional", o->bidirectional, "read the lookback window both ways (final states concatenated)");
  c->add_option("--dropout", o->dropout, "dropout between layers and before the output")->capture_default_str()
      ->check(checked("fraction"));
  c->add_option("--search", o->search, "try the first N candidate settings of docs/defaults.md's evidence table "
                "(they set --cell, --hidden, --dropout) by successive halving on the validation MAE within the one budget, keep "
                "the best (trials in DIR/trials, log in DIR/trials.csv; 0: off)")->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget, "windows per batch");
  c->callback([o, budget, c, relative, absolute, seasonal, no_seasonal] {
    RC_CHECK(!(*relative && *absolute), "--relative", "and --no-relative contradict each other (give one)");
    RC_CHECK(!(*seasonal && *no_seasonal), "--seasonal-residual", "and --no-seasonal-residual contradict each other");
    o->relative = *relative ? 1 : *absolute ? 0 : -1;
    o->seasonal_residual = *seasonal ? 1 : *no_seasonal ? 0 : -1;
    finish_loop_options("forecast", c, *o, *budget, 500);
    if (tasks::train_forecaster(*o) == tasks::ForecastOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
