// The epoch loop shared by minibatch tasks (contract in include/recurrent/train/epochs.h).
#include "recurrent/train/epochs.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/core/threads.h"
#include "recurrent/train/dist.h"
#include "recurrent/io/json_int.h"

namespace recurrent::train {

std::vector<size_t> epoch_order(size_t n, uint64_t seed, uint64_t stream, int64_t epoch) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  Rng r(seed, stream + static_cast<uint64_t>(epoch));
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);  // Fisher–Yates
  return p;
}

std::string epoch_state_json(const Optimizer& opt, const EpochPosition& pos, uint64_t seed, const NamedRngs& rngs,
                             const std::string& task_fields) {
  using nlohmann::json;
  auto exact = [](double v) { return fmt_num(v, 17); };
  json t = json::parse(task_fields);
  t.update({{"optimizer", opt.kind()}, {"lr", exact(opt.lr())}, {"step", pos.step}, {"epoch", pos.epoch},
            {"batch", pos.batch}, {"elapsed", exact(pos.elapsed)}, {"seed", seed}, {"threads", num_threads()}});
  for (const auto& [name, rng] : rngs) t[name] = json::parse(rng_state_to_json(*rng));
  return t.dump();
}

EpochState read_epoch_state(const LoadedCheckpoint& ck, const NamedParams& params, const NamedRngs& rngs,
                            const std::string& file) {
  using nlohmann::json;
  EpochState s;
  try {
    const json t = json::parse(ck.train_json);
    s.opt = make_optimizer(t.at("optimizer").get<std::string>(), params, std::stod(t.at("lr").get<std::string>()));
    s.opt->load_state(ck.optim);
    s.pos = {io::json_int_at<int64_t>(t, "step"), io::json_int_at<int64_t>(t, "epoch"), io::json_int_at<int64_t>(t, "batch"),
             std::stod(t.at("elapsed").get<std::string>())};
    s.seed = io::json_int_at<uint64_t>(t, "seed");
    for (const auto& [name, rng] : rngs) rng_state_from_json(*rng, t.at(name).dump(), file);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad training state: ") + e.what());
  }
  return s;
}

EpochOutcome run_epochs(EpochTask& task, EpochPosition& pos, const EpochLimits& lim, Progress& progress, bool quiet,
                        const std::string& resume_hint) {
  using Clock = std::chrono::steady_clock;
  clear_interrupt();
  install_interrupt_handler();
  const auto t0 = Clock::now();
  const double elapsed0 = pos.elapsed;
  auto tick = [&] { pos.elapsed = elapsed0 + std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto should_stop = [&] {
    if (lim.max_steps > 0 && pos.step >= lim.max_steps) return true;
    return stop_requested(lim.time_budget > 0 && pos.elapsed >= lim.time_budget);  // agreed by all ranks
  };
  const int64_t nb = task.batches_per_epoch();
  SaveSchedule saves(lim.save_every_steps, lim.save_every_seconds, pos.step, pos.elapsed);
  double acc_loss = 0, acc_norm = 0, ema = NAN;
  int64_t acc_steps = 0;
  while (lim.epochs == 0 || pos.epoch < lim.epochs) {
    task.begin_epoch(pos.epoch);
    bool stop = false;
    while (pos.batch < nb) {
      tick();
      if ((stop = should_stop())) break;
      if (saves.due(pos.step, pos.elapsed)) task.save_last(pos), saves.saved(pos.step, pos.elapsed);
      const StepStats st = task.train_batch(pos.epoch, pos.batch, pos.step + 1);
      ++pos.step, ++pos.batch;
      acc_loss += st.loss, acc_norm += st.grad_norm, ++acc_steps;
      ema = std::isnan(ema) ? st.loss : 0.95 * ema + 0.05 * st.loss;
      if (!quiet) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "epoch %lld %3.0f%%  step %lld  loss %.4f", static_cast<long long>(pos.epoch + 1),
                      100.0 * static_cast<double>(pos.batch) / static_cast<double>(nb), static_cast<long long>(pos.step), ema);
        progress.update(buf);
      }
    }
    tick();
    if (stop && (interrupted() || (lim.max_steps > 0 && pos.step >= lim.max_steps))) {
      task.save_last(pos);
      progress.line(std::string(interrupted() ? "interrupted" : "stopped at --max-steps") + " at step " +
                    std::to_string(pos.step) + "; continue with: " + resume_hint);
      return EpochOutcome::stopped;
    }
    const double n = static_cast<double>(acc_steps > 0 ? acc_steps : 1);
    task.end_epoch(pos, stop, acc_steps ? acc_loss / n : NAN, acc_steps ? acc_norm / n : NAN);
    acc_loss = acc_norm = 0, acc_steps = 0;
    if (stop) {  // the time budget: validated above; keep the position inside the epoch
      task.save_last(pos);
      break;
    }
    ++pos.epoch;
    pos.batch = 0;
    task.save_last(pos);
    saves.saved(pos.step, pos.elapsed);
    if (task.stop_early()) break;
  }
  return EpochOutcome::finished;
}

}  // namespace recurrent::train
