// recurrent train esn — an echo state network (tasks/esn.h): fixed sparse reservoir, ridge readout, no BPTT.
//
//   recurrent train esn [--mode forecast] --data F.csv --column NAME [--time-column NAME] [--features A,B] [--no-target-input]
//     [--difference]
//     [--horizon 1] [--season S] [--valid-frac 0.15 --test-frac 0.15]
//     --reservoir 500 --spectral-radius 0.9 --leak 0.3 --input-scale 1 --density 0.1 --ridge 1e-6
//     --washout 100 --seed 1 --out DIR [--force] [--quiet]
//   recurrent train esn --mode classify --data F [--valid F --test F] [--level word|char] [--keep-case]
//     [--min-count 2] --reservoir 500 ... --out DIR
// Writes DIR/last.safetensors and DIR/results.json; prints validation and test one-step MAE / RMSE /
// MASE / NMSE and, with --horizon H > 1, the free-run figures and the NRMSE at step H (classify:
// accuracy and macro-F1).
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/run_record.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/esn.h"

namespace recurrent::cli {

void add_train_esn(CLI::App& train) {
  auto o = std::make_shared<tasks::EsnTrainOptions>();
  auto no_target = std::make_shared<bool>(false), keep_case = std::make_shared<bool>(false);
  auto level = std::make_shared<std::string>("word");
  tasks::EsnConfig& c = o->cfg;
  CLI::App* s = train.add_subcommand("esn", "fit an echo state network (fixed random reservoir, ridge-regression "
                                     "readout, no backpropagation) to a CSV time series");
  s->add_option("--mode", c.mode, "forecast (a CSV time series) or classify (labelled sentences, as train classify)")
      ->capture_default_str()->check(choice({"forecast", "classify"}));
  s->add_option("--data", o->data, "forecast: CSV with a header, one row per time step in time order (as train "
                "forecast); classify: labelled sentences (TSV label<TAB>text, JSON lines or a JSON array)")
      ->required()->check(checked("file"));
  s->add_option("--column", c.column, "forecast: the column to predict (required)")->check(checked("text"));
  s->add_option("--valid", o->valid, "classify: validation sentences (default: items i mod 10 = 8 of --data)")
      ->check(checked("file"));
  s->add_option("--test", o->test, "classify: test sentences (default: items i mod 10 = 9 of --data)")
      ->check(checked("file"));
  s->add_option("--level", *level, "classify: tokens are words or characters")->capture_default_str()
      ->check(choice({"word", "char"}));
  s->add_flag("--keep-case", *keep_case, "classify, word level: do not lower-case");
  s->add_option("--min-count", c.min_count, "classify: training tokens seen fewer times become <unk>")
      ->capture_default_str()->check(checked("positive"));
  s->add_option("--time-column", c.time_column, "column with the time of each row (for forecasts)")->check(checked("text"));
  s->add_option("--features", o->features, "extra input columns, comma-separated (their values at each step are inputs)")
      ->check(checked("text"));
  s->add_flag("--no-target-input", *no_target, "the target's own values are not an input: predict it from --features "
              "alone (system identification, e.g. NARMA)");
  s->add_flag("--difference", c.difference, "model the first differences y_t - y_(t-1) (input and target); forecasts "
              "add the predicted differences to the last value (series with a trend, e.g. CO2)");
  s->add_option("--horizon", c.horizon, "free-run steps evaluated from each origin, forecasts fed back as inputs "
                "(1: one-step prediction only)")->capture_default_str()->check(checked("positive"));
  s->add_option("--season", o->season, "season length in rows for the seasonal-naive baseline; default: read off the "
                "training part as train forecast does")->check(checked("positive"));
  s->add_option("--valid-frac", c.valid_frac, "validation part: the rows before the test part")->capture_default_str()
      ->check(checked("fraction"));
  s->add_option("--test-frac", c.test_frac, "test part: the last rows")->capture_default_str()->check(checked("fraction"));
  s->add_option("--reservoir", c.reservoir, "reservoir units N")->capture_default_str()->check(checked("positive"));
  s->add_option("--spectral-radius", c.spectral_radius, "largest |eigenvalue| of the reservoir matrix after scaling")
      ->capture_default_str()->check(checked("positive-real"));
  s->add_option("--leak", c.leak, "leaking rate a in (0, 1]: x <- (1-a) x + a tanh(...) (1: no leaky integration)")
      ->capture_default_str()->check(checked("probability"));
  s->add_option("--input-scale", c.input_scale, "input and bias weights drawn from U(-s, s)")->capture_default_str()
      ->check(checked("positive-real"));
  s->add_option("--density", c.density, "fraction of non-zero reservoir weights")->capture_default_str()
      ->check(checked("probability"));
  s->add_option("--ridge", c.ridge, "ridge regularisation of the readout's least-squares solve (>= 0)")
      ->capture_default_str()->check(checked("nonneg-real"));
  s->add_option("--washout", c.washout, "first steps of the run whose states are not fitted (the initial transient)")
      ->capture_default_str()->check(checked("count"));
  s->add_option("--out", o->out, "output folder; refused if it holds another run unless --force")->required()
      ->check(checked("text"));
  s->add_flag("--force", o->force, "--out holds another run: remove its files (checkpoints, metrics, results) first");
  s->add_option("--seed", o->seed, "random seed of the reservoir and input weights")->capture_default_str()
      ->check(checked("seed"));
  s->add_flag("--quiet", o->quiet, "no summary line on stderr");
  s->callback([o, no_target, keep_case, level, s] {
    // Options of the other mode are refused, not ignored.
    const bool cls = o->cfg.mode == "classify";
    for (const char* opt : {"--column", "--time-column", "--features", "--no-target-input", "--difference",
                            "--horizon", "--season", "--valid-frac", "--test-frac", "--washout"})
      RC_CHECK(!cls || s->count(opt) == 0, opt, "applies to --mode forecast (this run is --mode classify)");
    for (const char* opt : {"--valid", "--test", "--level", "--keep-case", "--min-count"})
      RC_CHECK(cls || s->count(opt) == 0, opt, "applies to --mode classify (this run is --mode forecast)");
    o->cfg.target_input = !*no_target;
    o->cfg.chars = *level == "char";
    o->cfg.lower = !*keep_case;
    o->command = record_options("esn", *s);
    tasks::train_esn(*o);
  });
}

}  // namespace recurrent::cli
