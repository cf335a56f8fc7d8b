// recurrent bench — time one configuration of a recurrent stack, like oneDNN's benchdnn.
//
//   recurrent bench --cell lstm[,mingru,...] --hidden 256 [--input-size I] --batch 64 --seq-len 100 --layers 1
//     [--bidirectional] --mode train|infer [--threads 2] [--precision fp32|bf16] [--json]
//     [--reps 7] [--warmup 1] [--min-time 0.2] [--peak-gflops G] [--seed S]
//
// Prints the median time per call, tokens/s (B·T per call), GFLOP/s and % of the fp32 FMA peak.
// --cell A,B,...: every cell in the same run (each round times one repetition of each, in rotated order),
// then a table of tokens/s and its ratio to the first cell's (the anchor); --json adds anchor_cell and
// tokens_ratio_to_anchor to each line.
// --precision bf16 runs the layers' products in bf16 (docs/engine.md "bf16"); the FLOP count and the
// peak stay the fp32 ones, so bf16 can exceed 100% of it.
// Workload and FLOP model: src/cli/bench_workload.h (train = forward + BPTT with weight gradients,
// counted as 3× forward; infer = forward without tape).
// Timing as in the anchors (../shared/anchors/rnn_dnnl.cpp, bench_torch.py): warm-up calls, then
// `reps` repetitions of n back-to-back calls, n chosen so one repetition lasts >= --min-time; the
// median and the best repetition are reported per call.
// Peak: measured once at start (recurrent/kernels/peak.h: widest FMA loop, the run's thread count,
// best of 10) unless --peak-gflops gives it; the output says which.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_workload.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/target.h"
#include "recurrent/kernels/peak.h"

namespace recurrent::cli {

namespace {

struct BenchArgs {
  std::string cell = "lstm", mode = "train", precision = "fp32";
  int64_t hidden = 256, input = 0, batch = 64, seq_len = 100, layers = 1;
  bool bidirectional = false, json = false;
  int reps = 7, warmup = 1;
  double min_time = 0.2, peak_gflops = 0;
  double recurrent_dropout = 0, zoneout = 0;
  uint64_t seed = 1;
};

struct Timing {
  double median_s = 0, min_s = 0;
  int calls_per_rep = 1;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Each runner's warm-up calls, one call that sizes its repetitions, then `reps` rounds in which every runner
// times one repetition, in an order rotated each round (several cells in one run: each sees the same
// machine load on average). One runner: exactly the anchors' procedure.
std::vector<Timing> time_calls(const std::vector<bench::RnnRunner*>& rs, const BenchArgs& a) {
  const size_t n = rs.size();
  std::vector<Timing> t(n);
  std::vector<std::vector<double>> per_call(n);
  for (size_t k = 0; k < n; ++k) {
    for (int i = 0; i < a.warmup; ++i) rs[k]->call();
    const double t0 = now_s();
    rs[k]->call();  // sizes the repetitions
    t[k].calls_per_rep = std::max(1, static_cast<int>(a.min_time / std::max(now_s() - t0, 1e-9)));
  }
  for (int rep = 0; rep < a.reps; ++rep)
    for (size_t i = 0; i < n; ++i) {
      const size_t k = (i + static_cast<size_t>(rep)) % n;
      const double t0 = now_s();
      for (int c = 0; c < t[k].calls_per_rep; ++c) rs[k]->call();
      per_call[k].push_back((now_s() - t0) / t[k].calls_per_rep);
    }
  for (size_t k = 0; k < n; ++k) {
    std::sort(per_call[k].begin(), per_call[k].end());
    t[k].median_s = per_call[k][per_call[k].size() / 2];
    t[k].min_s = per_call[k].front();
  }
  return t;
}

std::vector<std::string> split_cells(const std::string& list) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= list.size()) {
    const size_t q = std::min(list.find(',', p), list.size());
    out.push_back(list.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

bench::RnnWorkload workload(const BenchArgs& a, const std::string& cell) {
  bench::RnnWorkload w;
  w.precision = parse_precision(a.precision);  // bf16: refused by validate() below without AVX512_BF16
  w.cell = parse_cell(cell);
  w.hidden = a.hidden;
  w.input = a.input;
  w.batch = a.batch;
  w.seq_len = a.seq_len;
  w.layers = a.layers;
  w.bidirectional = a.bidirectional;
  w.train = a.mode == "train";
  w.recurrent_dropout = static_cast<float>(a.recurrent_dropout);
  w.zoneout = static_cast<float>(a.zoneout);
  w.options().validate();
  return w;
}

void print_one(const BenchArgs& a, const std::string& cell, const bench::RnnWorkload& w, const bench::RnnRunner& runner,
               const Timing& t, const FmaPeak& peak, const std::string& peak_source, const Timing* anchor) {
  const int threads = num_threads();
  const double flops = w.flops_per_call(), tokens = static_cast<double>(w.tokens());
  const double gflops = flops / t.median_s / 1e9;
  // bf16's per-step products on AMX tiles (rnn::use_amx: the CPU has them, RECURRENT_AMX is not 0)
  const bool amx = w.precision == Precision::bf16 && default_engine().amx >= 0 && cpu_has_amx_bf16();
  nlohmann::ordered_json j = {
      {"lib", "recurrent"}, {"cell", cell}, {"H", w.hidden}, {"I", w.input_size()}, {"B", w.batch},
      {"T", w.seq_len}, {"layers", w.layers}, {"bidir", w.bidirectional}, {"mode", a.mode},
      {"precision", a.precision}, {"amx", amx}, {"recurrent_dropout", a.recurrent_dropout}, {"zoneout", a.zoneout},
      {"threads", threads}, {"target", simd::target_name(simd::default_target())},
      {"reps", a.reps}, {"warmup", a.warmup}, {"calls_per_rep", t.calls_per_rep},
      {"min_s", t.min_s}, {"median_s", t.median_s}, {"tokens_s", tokens / t.median_s},
      {"us_per_step_med", t.median_s / static_cast<double>(w.seq_len) * 1e6},
      {"gflop_per_call", flops / 1e9}, {"gflops_med", gflops}, {"gflops_max", flops / t.min_s / 1e9},
      {"peak_gflops", peak.gflops}, {"peak_source", peak_source}, {"pct_peak", 100.0 * gflops / peak.gflops}};
  if (w.train) {
    j["tape_bytes"] = runner.tape_bytes();
    j["tape_bytes_per_token"] = static_cast<double>(runner.tape_bytes()) / tokens;
  }
  if (anchor) {  // several cells: tokens/s against the first cell's, measured in the same rounds
    j["anchor_cell"] = split_cells(a.cell).front();
    j["tokens_ratio_to_anchor"] = anchor->median_s / t.median_s;
  }
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("recurrent bench: %s H=%lld I=%lld B=%lld T=%lld layers=%lld%s mode=%s precision=%s%s threads=%d target=%s"
              " recurrent-dropout=%g zoneout=%g\n",
              cell.c_str(), (long long)w.hidden, (long long)w.input_size(), (long long)w.batch,
              (long long)w.seq_len, (long long)w.layers, w.bidirectional ? " bidirectional" : "", a.mode.c_str(),
              a.precision.c_str(), amx ? " (AMX)" : "", threads, simd::target_name(simd::default_target()).c_str(), a.recurrent_dropout,
              a.zoneout);
  std::printf("  time      median %.6g s, best %.6g s per call (%d reps x %d calls); %.4g us per time step\n",
              t.median_s, t.min_s, a.reps, t.calls_per_rep, t.median_s / static_cast<double>(w.seq_len) * 1e6);
  std::printf("  speed     %.4g tokens/s, %.4g GFLOP/s (%.4g GFLOP per call%s)\n", tokens / t.median_s, gflops,
              flops / 1e9, w.train ? ", 3x forward" : "");
  std::printf("  peak      %.4g GFLOP/s fp32 FMA (%s): %.1f%% of peak\n", peak.gflops, peak_source.c_str(),
              100.0 * gflops / peak.gflops);
  if (w.train)
    std::printf("  memory    %lld bytes of activations kept for backward (%.1f per token)\n",
                (long long)runner.tape_bytes(), static_cast<double>(runner.tape_bytes()) / tokens);
}

void run_bench(const BenchArgs& a) {
  const std::vector<std::string> cells = split_cells(a.cell);
  std::vector<bench::RnnWorkload> ws;
  for (const std::string& c : cells) ws.push_back(workload(a, c));
  const int threads = num_threads();

  FmaPeak peak;
  std::string peak_source;
  if (a.peak_gflops > 0) {
    peak = {a.peak_gflops, threads, "given"};
    peak_source = "given by --peak-gflops";
  } else {
    peak = measure_fma_peak(threads, 10);
    peak_source = "measured: " + peak.kind + " loop, " + std::to_string(threads) + " thread(s), best of 10";
  }

  std::vector<std::unique_ptr<bench::RnnRunner>> runners;
  std::vector<bench::RnnRunner*> rs;
  for (const bench::RnnWorkload& w : ws) {
    runners.push_back(std::make_unique<bench::RnnRunner>(w, a.seed));
    rs.push_back(runners.back().get());
  }
  const std::vector<Timing> t = time_calls(rs, a);
  const bool several = cells.size() > 1;
  for (size_t k = 0; k < cells.size(); ++k)
    print_one(a, cells[k], ws[k], *runners[k], t[k], peak, peak_source, several ? &t[0] : nullptr);
  if (!several || a.json) return;
  std::printf("\n| cell | median s per call | tokens/s | x %s (tokens/s) |\n|---|---|---|---|\n", cells[0].c_str());
  for (size_t k = 0; k < cells.size(); ++k)
    std::printf("| %s | %.4g | %.4g | %.2f |\n", cells[k].c_str(), t[k].median_s,
                static_cast<double>(ws[k].tokens()) / t[k].median_s, t[0].median_s / t[k].median_s);
}

}  // namespace

void add_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand("bench", "time one recurrent-layer configuration (median, tokens/s, GFLOP/s, % of peak)");
  c->add_option("--cell", a->cell,
                cell_choices() + "; a comma list times each in the same run (rounds in rotated order) and gives tokens/s "
                        "as a multiple of the first's")
      ->capture_default_str()->check(choice_list(cell_names()));
  c->add_option("--hidden", a->hidden, "hidden size H")->capture_default_str()->check(checked("positive"));
  c->add_option("--input-size", a->input, "input size I (default: H)")->check(checked("positive"));
  c->add_option("--batch", a->batch, "batch size B")->capture_default_str()->check(checked("positive"));
  c->add_option("--seq-len", a->seq_len, "sequence length T")->capture_default_str()->check(checked("positive"));
  c->add_option("--layers", a->layers, "stacked layers")->capture_default_str()->check(checked("positive"));
  c->add_flag("--bidirectional", a->bidirectional, "two directions per layer, outputs concatenated");
  c->add_option("--mode", a->mode, "train (forward + BPTT with weight gradients) | infer (forward, no tape)")
      ->capture_default_str()->check(choice({"train", "infer"}));
  c->add_option("--precision", a->precision, "fp32 | bf16")
      ->capture_default_str()->check(choice({"fp32", "bf16"}));
  c->add_option("--recurrent-dropout", a->recurrent_dropout, "recurrent dropout p, every layer (train mode draws masks)")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--zoneout", a->zoneout, "zoneout p, every layer (train: masks; infer: the expectation)")
      ->capture_default_str()->check(checked("fraction"));
  c->add_flag("--json", a->json, "print one JSON line (fields as the anchors' rnn_dnnl / bench_torch.py)");
  c->add_option("--reps", a->reps, "timed repetitions (median reported)")
      ->capture_default_str()->check(int_range(1, 1000));
  c->add_option("--warmup", a->warmup, "untimed calls first")->capture_default_str()->check(int_range(0, 1000));
  c->add_option("--min-time", a->min_time, "seconds per repetition at least (0: one call per repetition)")
      ->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--peak-gflops", a->peak_gflops, "fp32 peak GFLOP/s for % of peak (default: measure it)")
      ->check(checked("positive-real"));
  c->add_option("--seed", a->seed, "seed of the weights and input")->capture_default_str()->check(checked("seed"));
  c->callback([a] { run_bench(*a); });
}

}  // namespace recurrent::cli
