// `recurrent forward` end to end: files split out of a PyTorch fixture (a 2-layer bidirectional
// LSTM with projection, variable lengths and h0/c0) go through the CLI; the outputs must match the
// fixture (PyTorch, float64 oracle) and the gradients must match the library run in process.
// Bad input must give a one-line error naming the file/tensor, and a non-zero exit.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "autograd/gradcheck.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/rnn.h"
#include "run_cli.h"

using namespace recurrent;
using namespace recurrent::testing;
namespace fs = std::filesystem;

namespace {

class ForwardCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("recurrent-forward-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fix = io::read_safetensors(std::string(RECURRENT_TEST_DATA) + "/rnn/lstm_proj_l2_bi_packed_h0.safetensors");
    io::NamedTensors w;
    for (const auto& n : fix.names())
      if (n.rfind("weight_", 0) == 0 || n.rfind("bias_", 0) == 0)
        if (n.find(".grad") == std::string::npos) w.push_back({n, fix.get_f32(n)});
    io::write_safetensors(path("W"), w);
    io::write_safetensors(path("X"), {{"input", fix.get_f32("input")}});
    std::vector<int64_t> len = fix.get_i64("lengths");
    io::write_safetensors(path("L"), {}, {}, {{"lengths", {{static_cast<int64_t>(len.size())}, len}}});
    io::write_safetensors(path("H0"), {{"h0", fix.get_f32("h0")}});
    io::write_safetensors(path("C0"), {{"c0", fix.get_f32("c0")}});
    io::write_safetensors(path("DY"), {{"grad_output", fix.get_f32("grad_output")}});
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string path(const std::string& k) const { return (dir / (k + ".safetensors")).string(); }
  std::string base_args() const {
    return "forward --weights " + path("W") + " --cell lstm --layers 2 --bidirectional --proj-size " +
           fix.metadata_or("proj_size", "") + " --input " + path("X") + " --lengths " + path("L") + " --h0 " +
           path("H0") + " --c0 " + path("C0") + " --output " + path("Y");
  }
  fs::path dir;
  io::SafeTensors fix;
};

TEST_F(ForwardCli, MatchesPyTorchAndInProcessGradients) {
  CmdResult r = run(base_args() + " --grad-output " + path("DY"));
  ASSERT_EQ(r.status, 0) << r.out;
  io::SafeTensors y = io::read_safetensors(path("Y"));
  for (const char* k : {"output", "h_n", "c_n"})
    EXPECT_TRUE(tensor_near(y.get_f32(k), fix.get_f32(k), 1e-6, 1e-5)) << k;

  // In process: same network, loss sum(output ⊙ grad_output) only (the CLI's definition).
  RNNOptions o = RNNOptions::uniform(CellType::lstm, fix.get_f32("input").size(2),
                                     std::stoll(fix.metadata_or("hidden_size", "")), 2, true,
                                     std::stoll(fix.metadata_or("proj_size", "")));
  Rng rng(0);
  RNN rnn(o, rng);
  for (auto& [n, p] : rnn.named_parameters()) p.value().copy_(fix.get_f32(n));
  Var x(fix.get_f32("input"), true), h0(fix.get_f32("h0"), true), c0(fix.get_f32("c0"), true);
  RNNState init{{slice(h0, 0, 0, 2), slice(h0, 0, 2, 4)}, {slice(c0, 0, 0, 2), slice(c0, 0, 2, 4)}};
  RNNOutput out = rnn.forward(x, fix.get_i64("lengths"), init);
  out.output.backward(fix.get_f32("grad_output"));
  EXPECT_TRUE(tensor_near(y.get_f32("input.grad"), x.grad(), 1e-7, 1e-6));
  EXPECT_TRUE(tensor_near(y.get_f32("h0.grad"), h0.grad(), 1e-7, 1e-6));
  EXPECT_TRUE(tensor_near(y.get_f32("c0.grad"), c0.grad(), 1e-7, 1e-6));
  for (auto& [n, p] : rnn.named_parameters()) EXPECT_TRUE(tensor_near(y.get_f32(n + ".grad"), p.grad(), 1e-7, 1e-6)) << n;
}

TEST_F(ForwardCli, BadInputsGiveOneLineErrors) {
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    CmdResult r = run(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "output: " << r.out;
    EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  };
  std::string a = base_args();
  expect_error(a + " --grad-output " + path("X"), "expected a tensor named 'grad_output'");
  // Wrong architecture flag: the weights' shapes no longer fit.
  std::string one_dir = a;
  one_dir.replace(one_dir.find(" --bidirectional"), 16, "");
  expect_error(one_dir, "tensor 'weight_ih_l1': expected shape");
  std::string gru = a;
  gru.replace(gru.find("--cell lstm"), 11, "--cell gru");
  expect_error(gru, "weight_ih_l0");
  expect_error(a + " --threads 0", "--threads");
  std::string bad_cell = a;
  bad_cell.replace(bad_cell.find("--cell lstm"), 11, "--cell lstmx");
  expect_error(bad_cell, "--cell: expected one of rnn_tanh, rnn_relu, lstm, lstm_peephole, gru, gru_cho, gru_simple, ");
  expect_error(bad_cell, ", got lstmx");
  io::write_safetensors(path("X2"), {{"input", Tensor({3, 2, 99})}});
  std::string wrong_x = a;
  wrong_x.replace(wrong_x.find(path("X")), path("X").size(), path("X2"));
  expect_error(wrong_x, "expected feature size");
}

// lstm_bn evaluates with the running statistics its weights file holds (the PyTorch fixture's, after two training
// calls; `forward` runs in evaluation): the fixture's evaluation outputs, to the fp32 engine's bound; a file
// without them leaves the fresh statistics (mean 0, variance 1), which give other outputs.
TEST(ForwardCliBatchNorm, TakesTheRunningStatisticsFromTheWeights) {
  const fs::path d = fs::temp_directory_path() / ("recurrent-forward-bn-" + std::to_string(::getpid()));
  fs::create_directories(d);
  const io::SafeTensors fix = io::read_safetensors(std::string(RECURRENT_TEST_DATA) + "/rnn_bn/lstm_bn_l1.safetensors");
  io::NamedTensors with, without;
  for (const auto& n : fix.names()) {
    const bool weight = n.rfind("weight_", 0) == 0 || n.rfind("bias_", 0) == 0 || n.rfind("bn_", 0) == 0;
    if (!weight || n.find(".grad") != std::string::npos) continue;
    with.push_back({n, fix.get_f32(n)});
    if (n.rfind("bn_running_", 0) != 0) without.push_back({n, fix.get_f32(n)});
  }
  const auto file = [&](const std::string& k) { return (d / (k + ".safetensors")).string(); };
  io::write_safetensors(file("W"), with);
  io::write_safetensors(file("P"), without);
  io::write_safetensors(file("X"), {{"input", fix.get_f32("input_eval")}});
  for (const char* w : {"W", "P"}) {
    const CmdResult r = run("forward --weights " + file(w) + " --cell lstm_bn --layers 1 --input " + file("X") +
                            " --output " + file(std::string("Y") + w));
    ASSERT_EQ(r.status, 0) << r.out;
  }
  const Tensor want = fix.get_f32("eval.output");
  EXPECT_TRUE(tensor_near(io::read_safetensors(file("YW")).get_f32("output"), want, 1e-5, 1e-4));
  EXPECT_FALSE(tensor_near(io::read_safetensors(file("YP")).get_f32("output"), want, 1e-3, 1e-3));
  fs::remove_all(d);
}

}  // namespace
