// A causal transformer on the synthetic long-range tasks. Contract in tasks/lab_transformer.h.
#include "recurrent/tasks/lab_transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"
#include "recurrent/tasks/synthetic.h"

namespace recurrent::tasks {

namespace {

enum class Task { adding, copy, agreement };

Task parse_task(const std::string& s) {
  if (s == "adding") return Task::adding;
  if (s == "copy") return Task::copy;
  if (s == "agreement") return Task::agreement;
  throw Error("--task", "unknown task '" + s + "' (expected adding, copy or agreement)");
}

struct LabBatch {
  Tensor x;                // [L, B, I]
  Tensor y;                // adding: [B, 1]
  std::vector<int64_t> c;  // copy: [L·B] time-major; agreement: [B]
};

LabBatch make_batch(Task t, const LabTransformerConfig& cfg, int64_t B, Rng& rng) {
  if (t == Task::adding) {
    AddingBatch a = adding_problem(cfg.T, B, rng);
    return {a.x, a.y, {}};
  }
  if (t == Task::copy) {
    CopyBatch c = copy_task(cfg.T, B, rng);
    return {c.x, Tensor(), c.y};
  }
  AgreementBatch a = agreement_task(cfg.T, B, rng, cfg.fillers);
  return {a.x, Tensor(), a.y};
}

int64_t input_size(Task t, const LabTransformerConfig& cfg) {
  return t == Task::adding ? 2 : t == Task::copy ? CopyBatch::kInputs : cfg.fillers + 4;
}
int64_t output_size(Task t) { return t == Task::adding ? 1 : t == Task::copy ? CopyBatch::kClasses : 2; }
int64_t seq_length(Task t, int64_t T) { return t == Task::adding ? T : t == Task::copy ? T + 20 : T + 2; }

class LabTransformerNet : public Module {
 public:
  LabTransformerNet(Task task, const LabTransformerConfig& cfg, Rng& rng) : task_(task), cfg_(cfg) {
    const int64_t L = seq_length(task, cfg.T);
    in_ = register_module("input", std::make_shared<nn_detail::Affine>(input_size(task, cfg), cfg.d_model, true, rng));
    if (cfg.pos == PositionalKind::learned)
      pos_ = register_module("pos_emb", std::make_shared<nn_detail::Table>(L, cfg.d_model, 0.02f, rng));
    TransformerLayerOptions lo;
    lo.d_model = cfg.d_model, lo.heads = cfg.heads, lo.ff = cfg.ff, lo.dropout = 0.0f;
    auto list = register_module("layers", std::make_shared<nn_detail::ModuleList>());
    for (int64_t n = 0; n < cfg.layers; ++n) layers_.push_back(list->add(std::make_shared<TransformerEncoderLayer>(lo, rng)));
    norm_ = register_module("norm", std::make_shared<nn_detail::Norm>(cfg.d_model));
    head_ = register_module("head", std::make_shared<nn_detail::Affine>(cfg.d_model, output_size(task), true, rng));
  }

  // x [L, B, I] → adding / agreement: [B, O] (last step); copy: [L, B, O] (every step, time-major)
  Var forward(const Tensor& x) {
    const int64_t L = x.size(0), B = x.size(1);
    Var h = in_->forward(transpose(Var(x), 0, 1));  // [B, L, D]
    h = add(h, pos_ ? pos_->weight() : Var(sinusoidal_positions(L, cfg_.d_model)));
    AttentionMasks causal;
    causal.causal = true;
    for (auto& l : layers_) h = l->forward(h, causal);
    if (task_ != Task::copy) h = reshape(slice(h, 1, L - 1, L), {B, cfg_.d_model});
    Var out = head_->forward(norm_->forward(h));
    return task_ == Task::copy ? transpose(out, 0, 1) : out;
  }

 private:
  Task task_;
  LabTransformerConfig cfg_;
  std::shared_ptr<nn_detail::Affine> in_, head_;
  std::shared_ptr<nn_detail::Table> pos_;
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
  std::shared_ptr<nn_detail::Norm> norm_;
};

Var task_loss(Task t, const Var& out, const LabBatch& b) {
  return t == Task::adding ? mse_loss(out, b.y) : cross_entropy(out, b.c);
}

// (metric, accuracy) on the fixed test set (chunks of ≤ 100 sequences); copy counts the recalled steps.
std::pair<double, double> evaluate(Task t, LabTransformerNet& net, const std::vector<LabBatch>& test) {
  NoGradGuard ng;
  double loss = 0.0, right = 0.0, counted = 0.0, n = 0.0;
  for (const LabBatch& b : test) {
    const int64_t B = b.x.size(1), L = b.x.size(0);
    Var out = net.forward(b.x);
    loss += task_loss(t, out, b).value().item() * B;
    n += B;
    if (t == Task::adding) continue;
    Tensor o = out.value().contiguous();
    const int64_t C = o.size(-1);
    const int64_t first = t == Task::copy ? (L - CopyBatch::kLength) * B : 0;
    for (int64_t r = first; r < static_cast<int64_t>(b.c.size()); ++r) {
      const float* row = o.data() + r * C;
      right += (std::max_element(row, row + C) - row) == b.c[static_cast<size_t>(r)], counted += 1;
    }
  }
  return {loss / n, counted > 0 ? right / counted : -1.0};
}

bool solved(Task t, double metric, double accuracy) {
  return t == Task::adding ? metric < 0.01 : t == Task::copy ? accuracy >= 0.99 : accuracy >= 0.95;
}

}  // namespace

LabTransformerResult run_lab_transformer(const LabTransformerConfig& cfg,
                                         const std::function<void(const LabTransformerRecord&)>& on_record) {
  const Task task = parse_task(cfg.task);
  RC_CHECK(cfg.T >= 2 && cfg.batch > 0 && cfg.steps > 0 && cfg.eval_every > 0 && cfg.eval_size > 0, "gradlab",
           "expected positive --T (≥ 2), --batch, --steps, --eval-every, --eval-size");
  RC_CHECK(cfg.layers >= 1 && cfg.heads >= 1 && cfg.ff >= 1, "--layers", "expected positive --layers, --heads, --ff");
  RC_CHECK(cfg.d_model >= 1 && cfg.d_model % cfg.heads == 0, "--d-model", "expected a positive multiple of --heads (",
           cfg.heads, "), got ", cfg.d_model);
  Rng rng(cfg.seed);
  LabTransformerNet net(task, cfg, rng);
  // The same data streams as the gradient lab's RNN runs with this seed (forks 1 and 2).
  Rng data_rng = rng.fork(1), test_rng = rng.fork(2);
  std::vector<LabBatch> test;
  for (int64_t left = cfg.eval_size; left > 0; left -= 100)
    test.push_back(make_batch(task, cfg, std::min<int64_t>(left, 100), test_rng));
  std::vector<Var> params = net.parameters();
  AdamOptions ao;
  ao.lr = cfg.lr;
  Adam opt(params, ao);
  LabTransformerResult res;
  res.metric = task == Task::adding ? "mse" : "ce";
  res.baseline = task == Task::adding ? adding_baseline_mse() : task == Task::copy ? copy_baseline_ce(cfg.T) : std::log(2.0);
  res.parameters = net.num_parameters();
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (int64_t step = 1; step <= cfg.steps; ++step) {
    LabTransformerRecord rec;
    rec.step = step;
    const LabBatch b = make_batch(task, cfg, cfg.batch, data_rng);
    Var loss = task_loss(task, net.forward(b.x), b);
    net.zero_grad();
    loss.backward();
    rec.loss = loss.value().item();
    rec.grad_norm = cfg.clip > 0.0 ? clip_grad_norm(params, cfg.clip) : grad_norm(params);
    res.steps_done = step;
    if (!std::isfinite(rec.loss) || !std::isfinite(rec.grad_norm)) {
      res.diverged = true;
      res.diverged_what = std::string(std::isfinite(rec.loss) ? "non-finite gradient norm" : "non-finite loss") +
                          " at step " + std::to_string(step);
    } else {
      opt.set_lr(cfg.lr * (cfg.warmup > 0 ? std::min(1.0, static_cast<double>(step) / cfg.warmup) : 1.0));
      opt.step();
    }
    const bool last = res.diverged || step == cfg.steps || (cfg.time_budget > 0 && elapsed() >= cfg.time_budget);
    if (!res.diverged && (step % cfg.eval_every == 0 || last)) {
      std::tie(rec.test_metric, rec.test_accuracy) = evaluate(task, net, test);
      res.final_metric = rec.test_metric, res.final_accuracy = rec.test_accuracy;
      if (res.steps_to_solve < 0 && solved(task, rec.test_metric, rec.test_accuracy)) res.steps_to_solve = step;
    }
    rec.seconds = elapsed();
    if (on_record) on_record(rec);
    res.records.push_back(rec);
    if (last || (cfg.stop_when_solved && res.steps_to_solve > 0)) break;
  }
  res.seconds = elapsed();
  return res;
}

}  // namespace recurrent::tasks
