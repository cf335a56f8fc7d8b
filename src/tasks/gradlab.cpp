// The gradient lab: models, training loop and gradient profiles on the synthetic long-range tasks.
// Contract: include/recurrent/tasks/gradlab.h.
#include "recurrent/tasks/gradlab.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"
#include "recurrent/optim/rmsprop.h"
#include "recurrent/optim/sgd.h"
#include "recurrent/tasks/synthetic.h"

namespace recurrent::tasks {

LabTask parse_lab_task(const std::string& name) {
  if (name == "adding") return LabTask::adding;
  if (name == "copy") return LabTask::copy;
  if (name == "agreement") return LabTask::agreement;
  if (name == "seqimage") return LabTask::seqimage;
  throw Error("--task", "unknown task '" + name + "' (expected adding, copy, agreement or seqimage)");
}

const char* lab_task_name(LabTask t) {
  switch (t) {
    case LabTask::adding: return "adding";
    case LabTask::copy: return "copy";
    case LabTask::agreement: return "agreement";
    case LabTask::seqimage: return "seqimage";
  }
  return "?";
}

LabModel lab_model(const std::string& cell, const std::string& init, double rho, double forget_bias, double update_bias,
                   double chrono) {
  LabModel m;
  const bool irnn = cell == "irnn";
  m.cell = irnn ? CellType::rnn_relu : parse_cell(cell);
  m.label = cell;
  const std::string how = irnn ? "identity" : init;
  if (how == "uniform") m.init.weights = RnnInit::Weights::uniform;
  else if (how == "xavier") m.init.weights = RnnInit::Weights::xavier;
  else if (how == "orthogonal") m.init.weights = RnnInit::Weights::xavier, m.init.recurrent = RnnInit::Recurrent::orthogonal;
  else if (how == "identity") m.init.recurrent = RnnInit::Recurrent::identity;
  else RC_CHECK(how == "pytorch", "--init", "unknown initialisation '", how,
                "' (expected pytorch, uniform, xavier, orthogonal or identity)");
  if (how != "pytorch" && !irnn) m.label += "/" + how;
  if (is_lstm(m.cell) && forget_bias != 0.0) m.init.forget_bias = static_cast<float>(forget_bias);
  if (update_bias != 0.0) {
    RC_CHECK(m.cell == CellType::gru || m.cell == CellType::gru_cho, "--update-bias", "only for gru and gru_cho, not ",
             cell);
    m.update_bias = update_bias;
    char buf[32];
    std::snprintf(buf, sizeof buf, "/z-bias=%g", update_bias);
    m.label += buf;
  }
  if (chrono != 0.0) {
    RC_CHECK(is_lstm(m.cell) && chrono > 2.0, "--chrono", "expected T_max > 2 for an LSTM cell, got ", chrono, " for ",
             cell);
    m.init.chrono_tmax = static_cast<float>(chrono);
    char buf[32];
    std::snprintf(buf, sizeof buf, "/chrono=%g", chrono);
    m.label += buf;
  }
  m.rho = rho;
  if (rho > 0.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "/rho=%g", rho);
    m.label += buf;
  }
  return m;
}

namespace {

constexpr int64_t kAgreementFillers = 20;

int64_t input_size(const LabConfig& c) {
  switch (c.task) {
    case LabTask::adding: return 2;
    case LabTask::copy: return CopyBatch::kInputs;
    case LabTask::agreement: return kAgreementFillers + 4;
    case LabTask::seqimage: return c.images->inputs();
  }
  return 0;
}
int64_t output_size(const LabConfig& c) {
  switch (c.task) {
    case LabTask::adding: return 1;
    case LabTask::copy: return CopyBatch::kClasses;
    case LabTask::agreement: return 2;
    case LabTask::seqimage: return std::max(c.images->train.classes, c.images->test.classes);
  }
  return 0;
}

struct Batch {
  Tensor x;                // [L, B, I]
  Tensor y;                // adding: [B, 1]
  std::vector<int64_t> c;  // copy: [L·B]; agreement: [B]
};

// Images idx[0..B) of `set` as a sequence batch: x[t, b, i] = pixel (t·I + i) of image idx[b] / 255, so
// rows (I = cols) and pixels (I = 1) are the same layout. x: [T, B, I]; labels [B].
Batch image_batch(const SeqImages& im, const data::ImageSet& set, const std::vector<int64_t>& idx) {
  const int64_t T = im.T(), I = im.inputs(), B = static_cast<int64_t>(idx.size()), P = T * I;
  Batch out{Tensor({T, B, I}), Tensor(), std::vector<int64_t>(idx.size())};
  float* x = out.x.data();
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* px = set.pixels.data() + idx[b] * P;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < I; ++i) x[(t * B + b) * I + i] = static_cast<float>(px[t * I + i]) * (1.0f / 255.0f);
    out.c[b] = set.labels[idx[b]];
  }
  return out;
}

int64_t train_images(const SeqImages& im) { return im.train.n - im.valid; }

Batch make_batch(const LabConfig& cfg, int64_t B, Rng& rng) {
  switch (cfg.task) {
    case LabTask::seqimage: {  // B training images drawn uniformly (with replacement across batches)
      std::vector<int64_t> idx(B);
      for (int64_t& i : idx) i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(train_images(*cfg.images))));
      return image_batch(*cfg.images, cfg.images->train, idx);
    }
    case LabTask::adding: {
      AddingBatch a = adding_problem(cfg.T, B, rng);
      return {a.x, a.y, {}};
    }
    case LabTask::copy: {
      CopyBatch c = copy_task(cfg.T, B, rng);
      return {c.x, Tensor(), c.y};
    }
    case LabTask::agreement: {
      AgreementBatch a = agreement_task(cfg.T, B, rng, kAgreementFillers);
      return {a.x, Tensor(), a.y};
    }
  }
  return {};
}

// input [L, B, I] → RNN (hidden H) → head: the last step's output (adding, agreement) or every step's (copy).
struct LabNet : Module {
  std::shared_ptr<RNN> rnn;
  Var head_w, head_b;
  LabNet(const LabConfig& cfg, const LabModel& m, Rng& rng) {
    RNNOptions o = RNNOptions::uniform(m.cell, input_size(cfg), cfg.hidden, 1);
    rnn = register_module("rnn", std::make_shared<RNN>(o, rng));
    init_rnn(*rnn, m.init, rng);
    if (m.rho > 0.0) rescale_recurrent(m.rho);
    if (m.update_bias != 0.0) {  // gates r, z, n: the z block is rows [H, 2H)
      const int64_t H = cfg.hidden;
      float* bi = rnn->param("bias_ih", 0, 0).value().data();
      float* bh = rnn->param("bias_hh", 0, 0).value().data();
      for (int64_t j = H; j < 2 * H; ++j) bi[j] = static_cast<float>(m.update_bias), bh[j] = 0.0f;
    }
    const int64_t O = output_size(cfg);
    const float k = 1.0f / std::sqrt(static_cast<float>(cfg.hidden));
    Tensor w({O, cfg.hidden}), b({O});
    rng.fill_uniform(w, -k, k);
    head_w = register_parameter("head.weight", w);
    head_b = register_parameter("head.bias", b);
  }
  // Each [H, H] gate block of W_hh scaled to spectral radius rho.
  void rescale_recurrent(double rho) {
    RC_CHECK(!is_scan_cell(rnn->options().layers[0].cell), "--rho", "the ", cell_name(rnn->options().layers[0].cell),
             " cell has no recurrent weights to rescale");
    Tensor& w = rnn->param("weight_hh", 0, 0).value();
    const int64_t H = w.size(1), G = w.size(0) / H;
    for (int64_t g = 0; g < G; ++g) {
      float* blk = w.data() + g * H * H;
      const double r = recurrent::spectral_radius(blk, H, H);
      RC_CHECK(r > 0.0, "--rho", "W_hh block ", g, " is nilpotent (spectral radius 0): cannot rescale");
      for (int64_t i = 0; i < H * H; ++i) blk[i] = static_cast<float>(blk[i] * (rho / r));
    }
  }
  Var forward(const Tensor& x, bool last_only) {
    Var out = rnn->forward(Var(x)).output;  // [L, B, H]
    const int64_t L = out.size(0);
    if (last_only) out = reshape(slice(out, 0, L - 1, L), {out.size(1), out.size(2)});
    return linear(out, head_w, head_b);
  }
};

Var task_loss(const LabConfig& cfg, LabNet& net, const Batch& b) {
  Var out = net.forward(b.x, cfg.task != LabTask::copy);
  if (cfg.task == LabTask::adding) return mse_loss(out, b.y);
  return cross_entropy(out, b.c);
}

// (metric, accuracy) on a fixed test set, in chunks of 100 sequences (the tape of a forward is kept
// even without grad, so big chunks at T = 750 would cost gigabytes).
std::pair<double, double> evaluate(const LabConfig& cfg, LabNet& net, const std::vector<Batch>& test) {
  NoGradGuard ng;
  double loss = 0.0, right = 0.0, counted = 0.0, n = 0.0;
  for (const Batch& b : test) {
    const int64_t B = b.x.size(1), L = b.x.size(0);
    Var out = net.forward(b.x, cfg.task != LabTask::copy);
    loss += (cfg.task == LabTask::adding ? mse_loss(out, b.y) : cross_entropy(out, b.c)).value().item() * B;
    n += B;
    if (cfg.task == LabTask::adding) continue;
    const int64_t C = out.size(-1);
    const float* o = out.value().data();
    const int64_t first = cfg.task == LabTask::copy ? (L - CopyBatch::kLength) * B : 0;  // copy: the recalled steps
    for (int64_t r = first; r < static_cast<int64_t>(b.c.size()); ++r) {
      int64_t arg = 0;
      for (int64_t k = 1; k < C; ++k)
        if (o[r * C + k] > o[r * C + arg]) arg = k;
      right += arg == b.c[r], counted += 1;
    }
  }
  return {loss / n, counted > 0 ? right / counted : -1.0};
}

bool solved(const LabConfig& cfg, double metric, double accuracy) {
  switch (cfg.task) {
    case LabTask::adding: return metric < 0.01;
    case LabTask::copy: return accuracy >= 0.99;
    case LabTask::agreement: return accuracy >= 0.95;
    case LabTask::seqimage: return accuracy >= 0.88;
  }
  return false;
}

std::unique_ptr<Optimizer> make_optimizer(const LabConfig& cfg, const std::vector<Var>& params) {
  if (cfg.optimizer == "adam") {
    AdamOptions o;
    o.lr = cfg.lr;
    return std::make_unique<Adam>(params, o);
  }
  if (cfg.optimizer == "rmsprop") {
    RmspropOptions o;
    o.lr = cfg.lr;
    return std::make_unique<Rmsprop>(params, o);
  }
  RC_CHECK(cfg.optimizer == "sgd", "--optimizer", "unknown optimizer '", cfg.optimizer,
           "' (expected adam, rmsprop or sgd)");
  SgdOptions o;
  o.lr = cfg.lr;
  o.momentum = 0.9;
  return std::make_unique<Sgd>(params, o);
}

void fill_probe(const GradProbe& p, LabRecord& r) {
  const GradProbe::Dir& d = p.layers.at(0).at(0);
  r.probed = true;
  r.dh_norm = p.dh_norm();
  r.ratio = r.dh_norm.back() > 0.0 ? r.dh_norm.front() / r.dh_norm.back() : 0.0;
  r.gates = d.gates;
  r.gate_mean = d.gate_mean;
  r.gate_saturated = d.gate_saturated;
  r.h_norm = d.h_norm;
  r.c_norm = d.c_norm;
}

double result_baseline(const LabConfig& cfg) {
  switch (cfg.task) {
    case LabTask::adding: return adding_baseline_mse();
    case LabTask::copy: return copy_baseline_ce(cfg.T);
    case LabTask::agreement: return std::log(2.0);
    case LabTask::seqimage: return std::log(static_cast<double>(output_size(cfg)));  // uniform over the classes
  }
  return 0.0;
}

}  // namespace

// The evaluation set in chunks of 100: seqimage, the first eval_size held-out training images (all == the
// whole test set); other tasks, eval_size fresh sequences from their own stream.
std::vector<Batch> eval_batches(const LabConfig& cfg, Rng& rng, bool whole_test_set) {
  std::vector<Batch> out;
  if (cfg.task != LabTask::seqimage) {
    for (int64_t left = cfg.eval_size; left > 0; left -= 100) out.push_back(make_batch(cfg, std::min<int64_t>(left, 100), rng));
    return out;
  }
  const SeqImages& im = *cfg.images;
  const data::ImageSet& set = whole_test_set ? im.test : im.train;
  const int64_t first = whole_test_set ? 0 : train_images(im);
  const int64_t n = whole_test_set ? im.test_size() : std::min(cfg.eval_size, im.valid);
  for (int64_t k = 0; k < n; k += 100) {
    std::vector<int64_t> idx;
    for (int64_t i = k; i < std::min(n, k + 100); ++i) idx.push_back(first + i);
    out.push_back(image_batch(im, set, idx));
  }
  return out;
}

// Checks and, for seqimage, T from the images.
LabConfig checked(LabConfig cfg) {
  if (cfg.task == LabTask::seqimage) {
    RC_CHECK(cfg.images != nullptr, "seqimage", "no images given");
    const SeqImages& im = *cfg.images;
    RC_CHECK(im.test.rows == im.train.rows && im.test.cols == im.train.cols, "seqimage", "test images are ",
             im.test.rows, "×", im.test.cols, ", training images ", im.train.rows, "×", im.train.cols);
    RC_CHECK(im.valid > 0 && im.valid < im.train.n, "seqimage", "held-out count ", im.valid, " must be in (0, ",
             im.train.n, ")");
    cfg.T = im.T();
  }
  RC_CHECK(cfg.T >= 2 && cfg.hidden > 0 && cfg.batch > 0 && cfg.steps > 0 && cfg.eval_every > 0 && cfg.probe_every > 0,
           "gradlab", "expected positive --T (≥ 2), --hidden, --batch, --steps, --eval-every, --probe-every");
  return cfg;
}

LabResult run_lab(const LabConfig& cfg_in, const LabModel& model, const std::function<void(const LabRecord&)>& on_record) {
  const LabConfig cfg = checked(cfg_in);
  Rng rng(cfg.seed);
  LabNet net(cfg, model, rng);
  Rng data_rng = rng.fork(1), test_rng = rng.fork(2);
  const std::vector<Batch> test = eval_batches(cfg, test_rng, false);
  std::vector<Var> params = net.parameters();
  std::unique_ptr<Optimizer> opt = make_optimizer(cfg, params);
  auto probe = std::make_shared<GradProbe>();
  LabResult res;
  res.metric = cfg.task == LabTask::adding ? "mse" : "ce";
  res.baseline = result_baseline(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (int64_t step = 1; step <= cfg.steps; ++step) {
    LabRecord rec;
    rec.step = step;
    const bool probe_now = step == 1 || step % cfg.probe_every == 0;
    net.rnn->set_grad_probe(probe_now ? probe : nullptr);
    Var loss = task_loss(cfg, net, make_batch(cfg, cfg.batch, data_rng));
    net.zero_grad();
    loss.backward();
    net.rnn->set_grad_probe(nullptr);
    rec.loss = loss.value().item();
    rec.grad_norm = cfg.clip > 0.0 ? clip_grad_norm(params, cfg.clip) : grad_norm(params);
    rec.clipped_norm = cfg.clip > 0.0 ? std::min(rec.grad_norm, cfg.clip) : rec.grad_norm;
    res.steps_done = step;
    if (!std::isfinite(rec.loss) || !std::isfinite(rec.grad_norm)) {  // detected, reported, never trained on
      res.diverged = true;
      res.diverged_what = std::string(std::isfinite(rec.loss) ? "non-finite gradient norm" : "non-finite loss") +
                          " at step " + std::to_string(step);
    } else {
      opt->step();
    }
    if (probe_now && !res.diverged) fill_probe(*probe, rec);
    const bool last = res.diverged || step == cfg.steps || (cfg.time_budget > 0 && elapsed() >= cfg.time_budget);
    if (!res.diverged && (step % cfg.eval_every == 0 || last)) {
      std::tie(rec.test_metric, rec.test_accuracy) = evaluate(cfg, net, test);
      res.final_metric = rec.test_metric, res.final_accuracy = rec.test_accuracy;
      if (res.steps_to_solve < 0 && solved(cfg, rec.test_metric, rec.test_accuracy)) res.steps_to_solve = step;
    }
    const bool stop = last || (cfg.stop_when_solved && res.steps_to_solve > 0);
    if (rec.probed) res.ratio = rec.ratio;
    rec.seconds = elapsed();
    if (on_record) on_record(rec);
    res.records.push_back(std::move(rec));
    if (stop) break;
  }
  if (cfg.task == LabTask::seqimage && !res.diverged)  // the test set, once, after training
    std::tie(res.final_metric, res.final_accuracy) = evaluate(cfg, net, eval_batches(cfg, test_rng, true));
  res.seconds = elapsed();
  return res;
}

LabProfile profile_lab(const LabConfig& cfg_in, const LabModel& model, int64_t batches, bool jacobian) {
  const LabConfig cfg = checked(cfg_in);
  Rng rng(cfg.seed);
  LabNet net(cfg, model, rng);
  Rng data_rng = rng.fork(1);
  auto probe = std::make_shared<GradProbe>();
  LabProfile prof;
  Tensor first_x;
  for (int64_t k = 0; k < batches; ++k) {
    Batch b = make_batch(cfg, cfg.batch, data_rng);
    if (k == 0) first_x = b.x.slice(1, 0, 1).contiguous();
    net.rnn->set_grad_probe(probe);
    net.zero_grad();
    task_loss(cfg, net, b).backward();
    std::vector<double> n = probe->dh_norm();
    if (prof.dh_norm.empty()) prof.dh_norm.assign(n.size(), 0.0);
    for (size_t t = 0; t < n.size(); ++t) prof.dh_norm[t] += n[t] * n[t] / static_cast<double>(batches);
  }
  net.rnn->set_grad_probe(nullptr);
  for (double& v : prof.dh_norm) v = std::sqrt(v);
  // Decay rate: slope of log ‖∂L/∂h_t‖ against distance k = T'-1-t, over the finite nonzero values.
  double sk = 0, sy = 0, skk = 0, sky = 0, n = 0;
  const int64_t Tp = static_cast<int64_t>(prof.dh_norm.size());
  for (int64_t t = 0; t < Tp; ++t) {
    if (!(prof.dh_norm[t] > 0.0) || !std::isfinite(prof.dh_norm[t])) continue;
    const double k = static_cast<double>(Tp - 1 - t), y = std::log(prof.dh_norm[t]);
    sk += k, sy += y, skk += k * k, sky += k * y, n += 1;
  }
  if (n > 1) prof.decay_rate = (n * sky - sk * sy) / (n * skk - sk * sk);
  if (const Var wv = net.rnn->param("weight_hh", 0, 0); wv.defined()) {  // the scan cells have none
    const Tensor& w = wv.value();
    const int64_t H = w.size(1), G = w.size(0) / H;
    for (int64_t g = 0; g < G; ++g) {
      prof.block_rho.push_back(recurrent::spectral_radius(w.data() + g * H * H, H, H));
      prof.block_norm.push_back(spectral_norm(w.data() + g * H * H, H, H, H));
    }
  }
  if (jacobian) prof.jacobian = jacobian_profile(*net.rnn, first_x);
  return prof;
}

}  // namespace recurrent::tasks
