// `recurrent bench` end to end on tiny configurations: the JSON fields exist and agree with each
// other and with the FLOP model computed here independently (2·G·H·(I_l + H) per token, layer and
// direction; training 3×); bad values give one error line and a non-zero exit. Never asserts on speed.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recurrent/kernels/cpu.h"
#include "recurrent/nn/rnn_types.h"
#include "run_cli.h"

namespace {

using recurrent::testing::CmdResult;
using recurrent::testing::run;

// Fast, timing-independent settings: one call per repetition, a given peak (no measurement).
const std::string kQuick = " --json --reps 3 --warmup 1 --min-time 0 --peak-gflops 100 --threads 1";

nlohmann::json run_json(const std::string& args) {
  CmdResult r = run("bench " + args + kQuick);
  EXPECT_EQ(r.status, 0) << r.out;
  return nlohmann::json::parse(r.out);  // exactly one JSON document, nothing else on stdout/stderr
}

const std::map<std::string, int> kGates = {{"rnn_tanh", 1}, {"rnn_relu", 1}, {"lstm", 4}, {"lstm_peephole", 4},
                                           {"gru", 3},      {"gru_cho", 3},  {"gru_simple", 2}};

void expect_consistent(const nlohmann::json& j, double expected_gflop) {
  const double med = j.at("median_s"), mn = j.at("min_s"), B = j.at("B"), T = j.at("T");
  EXPECT_GT(mn, 0.0);
  EXPECT_LE(mn, med);
  EXPECT_NEAR(j.at("gflop_per_call").get<double>(), expected_gflop, 1e-12 * expected_gflop);
  EXPECT_NEAR(j.at("tokens_s").get<double>(), B * T / med, 1e-9 * B * T / med);
  EXPECT_NEAR(j.at("gflops_med").get<double>(), expected_gflop / med, 1e-9 * expected_gflop / med);
  EXPECT_NEAR(j.at("gflops_max").get<double>(), expected_gflop / mn, 1e-9 * expected_gflop / mn);
  EXPECT_NEAR(j.at("us_per_step_med").get<double>(), med / T * 1e6, 1e-9 * med / T * 1e6);
  EXPECT_NEAR(j.at("pct_peak").get<double>(), j.at("gflops_med").get<double>() / 100.0 * 100.0,
              1e-9 * j.at("pct_peak").get<double>());
  EXPECT_EQ(j.at("peak_gflops").get<double>(), 100.0);
  EXPECT_EQ(j.at("peak_source"), "given by --peak-gflops");
  EXPECT_EQ(j.at("threads"), 1);
  EXPECT_EQ(j.at("precision"), "fp32");
  EXPECT_EQ(j.at("amx"), false);
  EXPECT_EQ(j.at("lib"), "recurrent");
  EXPECT_EQ(j.at("reps"), 3);
  EXPECT_EQ(j.at("calls_per_rep"), 1);
}

TEST(BenchCli, EveryCellTrainsAndReportsConsistentFigures) {
  const double H = 8, I = 8, B = 2, T = 3;
  for (const auto& [cell, G] : kGates) {
    SCOPED_TRACE(cell);
    nlohmann::json j = run_json("--cell " + cell + " --hidden 8 --batch 2 --seq-len 3 --layers 1 --mode train");
    EXPECT_EQ(j.at("cell"), cell);
    EXPECT_EQ(j.at("mode"), "train");
    EXPECT_EQ(j.at("H"), 8);
    EXPECT_EQ(j.at("I"), 8);
    EXPECT_EQ(j.at("bidir"), false);
    expect_consistent(j, 3.0 * 2 * G * H * (I + H) * B * T / 1e9);
    EXPECT_GT(j.at("tape_bytes").get<double>(), 0.0);  // training keeps activations for BPTT
    EXPECT_NEAR(j.at("tape_bytes_per_token").get<double>(), j.at("tape_bytes").get<double>() / (B * T), 1e-9);
  }
}

// The scan cells (mingru G = 2, minlstm and rglru G = 3) have no W_hh: 2·G·H·I per token and direction.
TEST(BenchCli, ScanCellsCountOnlyTheInputProduct) {
  const double H = 8, I = 5, B = 2, T = 3;
  for (const auto& [cell, G] : std::map<std::string, int>{{"mingru", 2}, {"minlstm", 3}, {"rglru", 3}}) {
    SCOPED_TRACE(cell);
    nlohmann::json j = run_json("--cell " + cell + " --hidden 8 --input-size 5 --batch 2 --seq-len 3 --mode train");
    EXPECT_EQ(j.at("cell"), cell);
    expect_consistent(j, 3.0 * 2 * G * H * I * B * T / 1e9);
    EXPECT_GT(j.at("tape_bytes").get<double>(), 0.0);
  }
}

// --cell A,B,C: every cell timed in the same run; each JSON line names the anchor (the first cell) and its
// tokens/s as a multiple of the anchor's (= anchor's median / this median); the text report ends in a table.
TEST(BenchCli, SeveralCellsInOneRunAreComparedToTheFirst) {
  CmdResult r = run("bench --cell lstm,mingru,rglru --hidden 8 --batch 2 --seq-len 3 --mode train" + kQuick);
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<nlohmann::json> lines;
  size_t p = 0;
  while (p < r.out.size()) {
    const size_t q = r.out.find('\n', p);
    lines.push_back(nlohmann::json::parse(r.out.substr(p, q - p)));
    p = q == std::string::npos ? r.out.size() : q + 1;
  }
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const double anchor = lines[0].at("median_s");
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(lines[k].at("cell"), std::vector<std::string>({"lstm", "mingru", "rglru"})[k]);
    EXPECT_EQ(lines[k].at("anchor_cell"), "lstm");
    const double m = lines[k].at("median_s");
    EXPECT_NEAR(lines[k].at("tokens_ratio_to_anchor").get<double>(), anchor / m, 1e-9 * anchor / m);
  }
  CmdResult t = run("bench --cell gru,minlstm --hidden 8 --batch 2 --seq-len 3 --mode infer --reps 1 --min-time 0 "
                    "--peak-gflops 50");
  ASSERT_EQ(t.status, 0) << t.out;
  for (const char* s : {"recurrent bench: gru H=8", "recurrent bench: minlstm H=8", "| cell | median s per call |",
                        "| gru |", "| minlstm |", "x gru (tokens/s)"})
    EXPECT_NE(t.out.find(s), std::string::npos) << s << "\n" << t.out;
}

TEST(BenchCli, StackedBidirectionalInferenceCountsEveryLayerAndDirection) {
  const double H = 6, I = 5, B = 3, T = 4, G = 3;
  nlohmann::json j = run_json("--cell gru --hidden 6 --input-size 5 --batch 3 --seq-len 4 --layers 2 "
                              "--bidirectional --mode infer");
  EXPECT_EQ(j.at("layers"), 2);
  EXPECT_EQ(j.at("bidir"), true);
  EXPECT_EQ(j.at("I"), 5);
  // layer 0 reads I features, layer 1 the concatenated 2H; two directions each.
  expect_consistent(j, (2 * 2 * G * H * (I + H) + 2 * 2 * G * H * (2 * H + H)) * B * T / 1e9);
  EXPECT_FALSE(j.contains("tape_bytes"));  // inference keeps no tape
}

TEST(BenchCli, MeasuresThePeakWhenNotGiven) {
  CmdResult r = run("bench --cell rnn_tanh --hidden 4 --batch 1 --seq-len 2 --mode infer --json --reps 1 "
                    "--min-time 0 --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GT(j.at("peak_gflops").get<double>(), 0.0);
  EXPECT_EQ(j.at("peak_source").get<std::string>().rfind("measured: ", 0), 0u) << j.at("peak_source");
  EXPECT_NEAR(j.at("pct_peak").get<double>(), 100.0 * j.at("gflops_med").get<double>() / j.at("peak_gflops").get<double>(),
              1e-9 * j.at("pct_peak").get<double>());
}

TEST(BenchCli, HumanReadableReport) {
  CmdResult r = run("bench --cell lstm --hidden 8 --batch 2 --seq-len 3 --mode train --reps 1 --min-time 0 "
                    "--peak-gflops 50");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* s : {"recurrent bench: lstm H=8 I=8 B=2 T=3", "median", "tokens/s", "GFLOP/s",
                        "% of peak", "given by --peak-gflops", "bytes of activations"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(BenchCli, BadValuesGiveOneErrorLineAndNonZeroExit) {
  const std::string base = "bench --hidden 8 --batch 2 --seq-len 3 --reps 1 --min-time 0 --peak-gflops 10 ";
  const std::map<std::string, std::string> cases = {
      {"--hidden 0", "--hidden"},          {"--hidden abc", "--hidden"},
      {"--batch -3", "--batch"},           {"--seq-len 0", "--seq-len"},
      {"--mode fast", "--mode"},           {"--cell lstmx", "lstmx"},
      {"--cell lstm,mingru,nope", "nope"}, {"--cell mingru --precision bf16", "mingru"},
      {"--precision fp16", "--precision"},
      {"--reps 0", "--reps"},              {"--layers 0", "--layers"},
      {"--peak-gflops -1", "--peak-gflops"}};
  for (const auto& [args, mention] : cases) {
    SCOPED_TRACE(args);
    CmdResult r = run(base + args);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.out.rfind("recurrent: error: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(mention), std::string::npos) << r.out;
  }
}

// --precision bf16: runs (and says so) on an AVX512_BF16 CPU; elsewhere one error line naming bf16.
TEST(BenchCli, Bf16RunsOrIsRefusedClearly) {
  const std::string args = "bench --cell gru --hidden 40 --batch 3 --seq-len 5 --mode train --precision bf16";
  if (recurrent::bf16_available()) {
    nlohmann::json j = run_json(args.substr(6));
    EXPECT_EQ(j.at("precision"), "bf16");
    EXPECT_GT(j.at("tokens_s").get<double>(), 0.0);
    EXPECT_EQ(j.at("amx"), recurrent::cpu_has_amx_bf16()) << "bf16 runs its per-step products on AMX where the CPU has it";
    ::setenv("RECURRENT_AMX", "0", 1);  // the child inherits it: AMX off
    nlohmann::json off = run_json(args.substr(6));
    ::unsetenv("RECURRENT_AMX");
    EXPECT_EQ(off.at("amx"), false);
    EXPECT_GT(off.at("tokens_s").get<double>(), 0.0);
  } else {
    CmdResult r = run(args + kQuick);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.out.find("bf16"), std::string::npos) << r.out;
  }
}

}  // namespace
