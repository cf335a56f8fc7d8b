// `recurrent train forecast`: CSV series → chronological split → normalisation fitted on the training
// part → windows → minibatch training (train/epochs.h loop) with validation each epoch, best/last
// checkpoints, metrics CSV, results.json with the test metrics and the baselines.
//
// Best = the lowest validation MAE (original units); --patience epochs without a better one end the run
// (early stopping; the best weights are restored). Left-out --lookback / --season / --relative are read
// off the training part (series_shape). Resume is exact: each epoch's order is
// epoch_order(seed, 0x666f7265 + epoch), and last.safetensors holds the position, optimizer state and
// dropout RNG states.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/train/checkpoint.h"
#include "recurrent/train/dist.h"
#include "recurrent/train/epochs.h"
#include "recurrent/io/json_int.h"
#include "tasks/forecast_json.h"
#include "tasks/layer_options.h"

namespace recurrent::tasks {

namespace detail {

using nlohmann::json;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

json forecast_eval_json(const ForecastEval& e) {
  return {{"part", part_name(e.part)},
          {"windows", e.windows},
          {"points", e.model.n},
          {"mae", e.model.mae},
          {"rmse", e.model.rmse},
          {"mase", e.mase},
          {"naive_mae", e.naive.mae},
          {"naive_rmse", e.naive.rmse},
          {"naive_mase", e.naive_mase},
          {"seasonal_naive_mae", e.seasonal_naive.mae},
          {"seasonal_naive_rmse", e.seasonal_naive.rmse},
          {"seasonal_naive_mase", e.seasonal_naive_mase},
          {"mase_scale", e.scale},
          {"mae_by_step", e.mae_by_step},
          {"loss", e.loss},
          {"baselines", {{"naive", {{"mae", e.naive.mae}, {"rmse", e.naive.rmse}, {"mase", e.naive_mase}}},
                         {"seasonal_naive", {{"mae", e.seasonal_naive.mae}, {"rmse", e.seasonal_naive.rmse},
                                             {"mase", e.seasonal_naive_mase}}}}}};
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr uint64_t kOrderStream = 0x666f7265ull;

class ForecastRun : public train::EpochTask {
 public:
  explicit ForecastRun(const ForecastTrainOptions& o) : o_(o) {}
  ForecastOutcome run();

  int64_t batches_per_epoch() const override {
    return (static_cast<int64_t>(data_.origins[0].size()) + o_.batch - 1) / o_.batch;
  }
  void begin_epoch(int64_t epoch) override { perm_ = train::epoch_order(data_.origins[0].size(), o_.seed, kOrderStream, epoch); }
  train::StepStats train_batch(int64_t epoch, int64_t batch, int64_t step) override;
  void end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) override;
  void save_last(const train::EpochPosition& pos) override {
    pos_ = pos;
    save(path("last.safetensors"), true);
  }
  bool stop_early() const override {
    return o_.patience > 0 && best_epoch_ >= 0 && pos_.epoch - 1 - best_epoch_ >= o_.patience;
  }

 private:
  ForecastConfig base_config() const;
  data::Series read_with_shape();  // fills the left-out settings from the training part
  void setup_resume();
  void save(const std::string& file, bool with_state);
  void finish();
  std::string path(const char* f) const { return (fs::path(o_.out) / f).string(); }
  train::NamedRngs rngs() { return train::NamedRngs{{"dropout_rng", &model_->dropout_rng()}, {"rnn_dropout_rng", &model_->rnn().dropout_rng()}}; }

  ForecastTrainOptions o_;
  ForecastConfig cfg_;
  ForecastData data_;
  std::unique_ptr<Forecaster> model_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<train::MetricsCsv> csv_;
  train::Progress progress_{10.0};
  train::EpochPosition pos_;
  std::vector<size_t> perm_;
  double best_mae_ = INFINITY;
  bool best_saved_ = false;
  int64_t best_epoch_ = -1;  // 0-based epoch of best.safetensors (for --patience); −1: none yet
  json shape_;               // the settings read off the training part (results.json)
};

ForecastConfig ForecastRun::base_config() const {
  ForecastConfig c;
  c.column = o_.column;
  c.time_column = o_.time_column;
  c.features = detail::split_commas(o_.features);
  c.lookback = o_.lookback;
  c.horizon = o_.horizon;
  c.season = o_.season;
  c.relative = o_.relative == 1;
  c.seasonal_residual = o_.seasonal_residual == 1;
  c.gaps = parse_gap_policy(o_.gaps);
  c.valid_frac = o_.valid_frac;
  c.test_frac = o_.test_frac;
  c.layers = layer_specs(o_.cells, o_.hidden, o_.layers, o_.recurrent_dropout, o_.zoneout);
  c.bidirectional = o_.bidirectional;
  c.dropout = static_cast<float>(o_.dropout);
  return c;
}

data::Series ForecastRun::read_with_shape() {
  data::Series s = data::read_series_csv(o_.data, cfg_.csv_options());
  if (o_.lookback > 0 && o_.season > 0 && o_.relative >= 0 && o_.seasonal_residual >= 0) return s;
  const SeriesSplit sp = chronological_split(s.rows(), cfg_.valid_frac, cfg_.test_frac, 0, cfg_.horizon, s.source);
  const std::vector<double> y = data::interpolate_gaps(s.values[0], s.source + ": column '" + s.names[0] + "'");
  const SeriesShape sh = series_shape(y, sp.train_end);
  if (o_.relative < 0) cfg_.relative = sh.relative;
  if (o_.season == 0) cfg_.season = sh.season;
  if (o_.lookback == 0) cfg_.lookback = sh.lookback;
  if (o_.seasonal_residual < 0)
    cfg_.seasonal_residual = sh.seasonal_residual && !cfg_.relative && cfg_.season == sh.season && cfg_.lookback >= cfg_.season;
  shape_ = {{"lag1_autocorrelation", sh.lag1}, {"season_autocorrelation", sh.season_acf}, {"relative", cfg_.relative},
            {"season", cfg_.season}, {"lookback", cfg_.lookback}, {"seasonal_residual", cfg_.seasonal_residual}};
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "from the training part: %s (lag-1 autocorrelation %.2f), season %lld%s, lookback %lld",
                  cfg_.relative ? "relative to the last value" : cfg_.seasonal_residual ? "corrections to the seasonal naive forecast" : "absolute values", sh.lag1,
                  static_cast<long long>(cfg_.season), sh.season > 1 ? (" (autocorrelation " + train::fmt_num(sh.season_acf, 2) + ")").c_str() : "",
                  static_cast<long long>(cfg_.lookback));
    progress_.line(buf);
  }
  return s;
}

void ForecastRun::setup_resume() {
  const std::string file = (fs::path(o_.resume) / "last.safetensors").string();
  RC_CHECK(fs::exists(file), "--resume", "no last.safetensors in ", o_.resume);
  train::LoadedCheckpoint ck = train::read_checkpoint(file);
  RC_CHECK(!ck.train_json.empty(), file, "weights-only file: cannot resume training from it");
  cfg_ = ForecastConfig::from_json(ck.config_json, file);
  data_ = load_forecast_data(o_.data, cfg_);
  Rng init(o_.seed);
  model_ = std::make_unique<Forecaster>(cfg_, init);
  train::load_model_weights(ck, *model_);
  train::EpochState st = train::read_epoch_state(ck, model_->named_parameters(), rngs(), file);
  opt_ = std::move(st.opt);
  pos_ = st.pos;
  o_.seed = st.seed;
  try {
    const json t = json::parse(ck.train_json);
    best_mae_ = std::stod(t.at("best_mae").get<std::string>());
    best_saved_ = t.at("best_saved").get<bool>();
    best_epoch_ = io::json_int_or<int64_t>(t, "best_epoch", -1);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
}

void ForecastRun::save(const std::string& file, bool with_state) {
  train::CheckpointData d;
  d.config_json = cfg_.to_json();
  d.command_json = o_.command;
  if (with_state) {
    const json t = {{"best_mae", train::fmt_num(best_mae_, 17)}, {"best_saved", best_saved_}, {"best_epoch", best_epoch_}};
    d.train_json = train::epoch_state_json(*opt_, pos_, o_.seed, rngs(), t.dump());
  }
  train::save_checkpoint(file, *model_, with_state ? opt_.get() : nullptr, d);
}

train::StepStats ForecastRun::train_batch(int64_t, int64_t batch, int64_t step) {
  const std::vector<int64_t>& all = data_.origins[0];
  std::vector<int64_t> o;
  const size_t begin = static_cast<size_t>(batch * o_.batch), end = std::min(all.size(), begin + o_.batch);
  const train::Shard sh = train::my_shard(static_cast<int64_t>(end - begin));  // under mpirun: this rank's windows
  for (size_t i = begin + sh.begin; i < begin + sh.end; ++i) o.push_back(all[perm_[i]]);
  if (o.empty()) return train::train_step([] { return Var(); }, *opt_, o_.clip, step, 0.0);  // nothing for this rank
  const Tensor x = model_->inputs(data_, o), z = model_->targets(data_, o);  // [L, B, C], [B, H]
  return train::train_step([&] { return mse_loss(model_->forward(x), z); }, *opt_, o_.clip, step,
                           static_cast<double>(o.size()));  // the mean is over windows × horizon
}

void ForecastRun::end_epoch(const train::EpochPosition& pos, bool partial, double train_loss, double grad_norm) {
  pos_ = pos;
  const ForecastEval v = evaluate_forecaster(*model_, data_, Part::valid);
  RC_CHECK(std::isfinite(v.model.mae), "validation", "the validation MAE is ", v.model.mae, " after step ", pos.step);
  auto opt_num = [](double x) { return std::isnan(x) ? std::string() : train::fmt_num(x); };
  csv_->row({std::to_string(pos.step), std::to_string(pos.epoch), opt_num(train_loss), train::fmt_num(v.loss),
             train::fmt_num(v.model.mae), train::fmt_num(v.model.rmse), train::fmt_num(v.mase), opt_num(grad_norm),
             train::fmt_num(opt_->lr()), train::fmt_num(pos.elapsed, 5)});
  const bool better = v.model.mae < best_mae_;
  if (better) best_mae_ = v.model.mae;
  if (!o_.quiet) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld%s  step %lld  train loss %.4f  valid loss %.4f  MAE %.4g  MASE %.3f%s  %s",
                  static_cast<long long>(pos.epoch + 1), partial ? " (partial)" : "", static_cast<long long>(pos.step),
                  train_loss, v.loss, v.model.mae, v.mase, better ? " *" : "", train::format_duration(pos.elapsed).c_str());
    progress_.line(buf);
  }
  if (better) {
    save(path("best.safetensors"), false);
    best_saved_ = true;
    best_epoch_ = pos.epoch;
  }
  if (!partial && !better && o_.patience > 0 && best_epoch_ >= 0 && pos.epoch - best_epoch_ >= o_.patience && !o_.quiet)
    progress_.line("early stop: no better validation MAE for " + std::to_string(o_.patience) + " epochs (best: epoch " +
                   std::to_string(best_epoch_ + 1) + "); its weights are the model");
}

void ForecastRun::finish() {
  if (!train::is_writer()) return;  // under mpirun rank 0 evaluates the best model and writes the results
  if (best_saved_) train::load_model_weights(train::read_checkpoint(path("best.safetensors")), *model_);
  const ForecastEval v = evaluate_forecaster(*model_, data_, Part::valid);
  json r = {{"steps", pos_.step}, {"epochs_completed", pos_.epoch}, {"train_seconds", pos_.elapsed},
                  {"parameters", model_->num_parameters()}, {"threads", num_threads()},
                  {"rows", data_.split.n}, {"split", {data_.split.train_end, data_.split.valid_end - data_.split.train_end,
                                                      data_.split.n - data_.split.valid_end}},
                  {"train_windows", data_.origins[0].size()}, {"valid", detail::forecast_eval_json(v)},
                  {"best_epoch", best_epoch_ + 1}, {"stopped_early", stop_early()}};
  if (!shape_.is_null()) r["from_training_part"] = shape_;
  if (o_.trial) {  // a --search trial: validation only, the test part is never evaluated
    io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
    return;
  }
  const ForecastEval t = evaluate_forecaster(*model_, data_, Part::test);
  r["test"] = detail::forecast_eval_json(t);
  for (const ForecastEval* e : {&v, &t})
    std::printf("%s: MAE %.4g  RMSE %.4g  MASE %.3f  (naive %.3f, seasonal naive %.3f; %lld windows x %lld steps)\n",
                part_name(e->part), e->model.mae, e->model.rmse, e->mase, e->naive_mase, e->seasonal_naive_mase,
                static_cast<long long>(e->windows), static_cast<long long>(cfg_.horizon));
  std::fflush(stdout);
  const double base = std::min(v.naive_mase, v.seasonal_naive_mase);
  if (v.mase >= base)
    std::fprintf(stderr, "warning: the model does not beat its baseline on validation (MASE %.3f vs %.3f): other "
                 "settings (docs/defaults.md) or more data may help\n", v.mase, base);
  io::write_file_atomic(path("results.json"), r.dump(2) + "\n");
}

ForecastOutcome ForecastRun::run() {
  if (o_.out.empty()) o_.out = o_.resume;
  train::RunDir dir(o_);  // refuses another run's folder before any work
  RC_CHECK(o_.epochs > 0 || o_.time_budget > 0 || o_.max_steps > 0, "--epochs", "give --epochs N or --time-budget T");
  RC_CHECK(o_.batch >= 1, "--batch", "expected >= 1, got ", o_.batch);
  RC_CHECK(o_.clip >= 0, "--clip", "expected >= 0 (0: no clipping), got ", o_.clip);
  const bool resume = !o_.resume.empty();
  if (resume) {
    setup_resume();
    if (!o_.evaluate_only) train::check_budget_left(o_, pos_.step, pos_.epoch, pos_.elapsed);
  } else {
    cfg_ = base_config();
    data::Series series = read_with_shape();
    cfg_.validate();
    data_ = prepare_forecast_data(std::move(series), cfg_);
    // MASE's scale, which every validation needs: a training part without it (a constant series) is
    // refused now, not after the first epoch has trained.
    naive_scale(data_.y(), data_.split.train_end, data_.series.source);
    fit_normalisation(cfg_, data_);
    Rng init(o_.seed);
    model_ = std::make_unique<Forecaster>(cfg_, init);
    opt_ = train::make_optimizer(o_.optimizer, model_->named_parameters(), o_.lr);
  }
  dir.create();
  csv_ = std::make_unique<train::MetricsCsv>(
      path("metrics.csv"),
      std::vector<std::string>{"step", "epoch", "train_loss", "valid_loss", "valid_mae", "valid_rmse", "valid_mase",
                               "grad_norm", "lr", "elapsed_s"},
      resume, pos_.step);
  progress_ = train::Progress(o_.log_every);
  if (!o_.quiet && !o_.evaluate_only) {
    char buf[400];
    const SeriesSplit& s = data_.split;
    std::snprintf(buf, sizeof buf, "%s forecaster: '%s', %lld rows (%lld gaps) → train %lld / valid %lld / test %lld rows; "
                  "windows %zu / %zu / %zu (lookback %lld, horizon %lld, direct); %lld parameters, %d thread%s",
                  resume ? "resuming" : "training", cfg_.column.c_str(), static_cast<long long>(s.n),
                  static_cast<long long>(data_.series.gaps(0)), static_cast<long long>(s.train_end),
                  static_cast<long long>(s.valid_end - s.train_end), static_cast<long long>(s.n - s.valid_end),
                  data_.origins[0].size(), data_.origins[1].size(), data_.origins[2].size(),
                  static_cast<long long>(cfg_.lookback), static_cast<long long>(cfg_.horizon),
                  static_cast<long long>(model_->num_parameters()), num_threads(), num_threads() == 1 ? "" : "s");
    progress_.line(buf);
  }
  model_->train();
  const train::EpochLimits lim{o_.epochs, o_.time_budget, o_.max_steps, o_.save_every_steps, o_.save_every_seconds};
  if (!o_.evaluate_only &&
      train::run_epochs(*this, pos_, lim, progress_, o_.quiet, train::resume_command("forecast", o_.out)) == train::EpochOutcome::stopped)
    return ForecastOutcome::stopped;
  finish();
  return ForecastOutcome::finished;
}

}  // namespace

ForecastOutcome train_forecaster(const ForecastTrainOptions& o) {
  if (o.search > 0) return search_forecaster(o);
  return ForecastRun(o).run();
}

}  // namespace recurrent::tasks
