// The `recurrent` command itself (src/cli/main.cpp) and `recurrent inspect` (cmd_inspect.cpp), run
// as a separate process: --help and --version exit 0; every usage error, bad value and bad file is
// ONE line on stderr starting "recurrent: error: ", nothing on stdout, and a non-zero exit.
// inspect's listing is checked against the library's own reading of the same file (a PyTorch-made
// fixture and files written here), not against hard-coded text.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "recurrent/io/safetensors.h"

using namespace recurrent;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recurrent-cli-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // `env` is prepended to the command line ("RECURRENT_NUM_THREADS=abc").
  Result run(const std::string& args, const std::string& env = "") const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = env + (env.empty() ? "" : " ") + RECURRENT_BIN + " " + args + " >" + out.string() +
                            " 2>" + err.string();
    const int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
  }

  // A usage or input error: one line on stderr with `needle`, nothing on stdout, non-zero exit.
  void expect_one_line_error(const std::string& args, const std::string& needle, const std::string& env = "") const {
    const Result r = run(args, env);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(r.out, "") << args;
    EXPECT_EQ(r.err.rfind("recurrent: error: ", 0), 0u) << args << "\n" << r.err;
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "exactly one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n  expected: " << needle << "\n  got: " << r.err;
  }

  fs::path dir_;
};

const std::string kDtypes = std::string(RECURRENT_TEST_DATA) + "/io/dtypes.safetensors";

TEST_F(Cli, HelpListsTheSubcommandsAndGlobalOptions) {
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* s : {"Usage: recurrent", "inspect", "forward", "--threads", "--version"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from:\n" << r.out;
  const Result sub = run("inspect --help");
  EXPECT_EQ(sub.status, 0);
  EXPECT_NE(sub.out.find("FILE"), std::string::npos) << sub.out;
  EXPECT_NE(sub.out.find("--json"), std::string::npos) << sub.out;
}

TEST_F(Cli, VersionIsOneLine) {
  const Result r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(std::regex_match(r.out, std::regex("recurrent [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << r.out;
}

TEST_F(Cli, UsageErrorsAreOneLineAndNonZero) {
  expect_one_line_error("--bogus inspect " + kDtypes, "--bogus");
  expect_one_line_error("inspect --bogus " + kDtypes, "--bogus");
  expect_one_line_error("", "A subcommand is required");
  expect_one_line_error("frobnicate", "unknown command 'frobnicate' (commands: inspect, forward");
  expect_one_line_error("inspect", "FILE is required");
  expect_one_line_error("inspect " + kDtypes + " extra", "not expected: extra");
  expect_one_line_error("train lm --data " + kDtypes + " --resume " + path("run"),
                        "--resume: expected an existing folder, got " + path("run"));
  expect_one_line_error("train foo", "unknown command 'train foo' (train takes: lm, classify");
  expect_one_line_error("train lm --hidden 8 --hidden 16", "--hidden: given more than once");
  // A file where a folder is needed: the path and the system's reason, not a raw "filesystem error".
  const std::string file = path("notes.txt");
  std::ofstream(file) << "x";
  expect_one_line_error("experiment adding --out " + file + "/sub --max-steps 1", file + "/sub: Not a directory");
}

TEST_F(Cli, ProgressLinesCountInTheSingular) {
  const std::string text = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
  const Result r = run("train lm --data " + text + " --hidden 8 --layers 1 --max-steps 1 --threads 1 --out " +
                       path("one"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("1 recurrent layer, "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("parameters, 1 thread\n"), std::string::npos) << r.err;
}

TEST_F(Cli, BadThreadCountsAreOneLineErrors) {
  expect_one_line_error("--threads 0 inspect " + kDtypes, "--threads");
  expect_one_line_error("--threads abc inspect " + kDtypes, "--threads");
  expect_one_line_error("--threads inspect", "--threads");
  expect_one_line_error("inspect " + kDtypes, "RECURRENT_NUM_THREADS: expected a positive integer, got 'abc'",
                        "RECURRENT_NUM_THREADS=abc");
  for (const char* bad : {"0", "-2", "3x", "2.5", "1025", "99999999999999999999"})
    expect_one_line_error("inspect " + kDtypes,
                          std::string("RECURRENT_NUM_THREADS: expected a positive integer, got '") + bad + "'",
                          std::string("RECURRENT_NUM_THREADS=") + bad);
  // Valid values, and --threads overriding a bad variable.
  EXPECT_EQ(run("--threads 2 inspect " + kDtypes).status, 0);
  EXPECT_EQ(run("inspect " + kDtypes + " --threads 1").status, 0) << "global option after the subcommand";
  EXPECT_EQ(run("inspect " + kDtypes, "RECURRENT_NUM_THREADS=1").status, 0);
  EXPECT_EQ(run("--threads 1 inspect " + kDtypes, "RECURRENT_NUM_THREADS=abc").status, 0);
}

// The SIMD target: --target or RECURRENT_TARGET, checked (an unknown name lists the valid ones), and the
// engine switches read by the CLI only (the library reads no environment).
TEST_F(Cli, TargetAndEngineVariablesAreCheckedUpFront) {
  expect_one_line_error("--target avx9 inspect " + kDtypes, "--target: unknown SIMD target 'avx9'");
  expect_one_line_error("inspect " + kDtypes, "RECURRENT_TARGET: unknown SIMD target 'x'", "RECURRENT_TARGET=x");
  expect_one_line_error("inspect " + kDtypes, "RECURRENT_RNN_SPLIT: expected 'rows' or 'units', got 'both'",
                        "RECURRENT_RNN_SPLIT=both");
  expect_one_line_error("inspect " + kDtypes, "RECURRENT_RNN_SOLO: expected '1' or '0', got 'no'",
                        "RECURRENT_RNN_SOLO=no");
  expect_one_line_error("inspect " + kDtypes, "RECURRENT_AMX: expected '1' or '0', got 'off'", "RECURRENT_AMX=off");
  EXPECT_EQ(run("--target native inspect " + kDtypes).status, 0);
  EXPECT_EQ(run("inspect " + kDtypes, "RECURRENT_TARGET=native RECURRENT_RNN_FUSED=0").status, 0);
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream is(line);
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

std::string grouped(uint64_t v) {  // the thousands separators inspect prints
  const std::string d = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < d.size(); ++i) out += std::string(i > 0 && (d.size() - i) % 3 == 0 ? "," : "") + d[i];
  return out;
}

// The table must list exactly the library's tensors, each with its dtype, shape and byte count.
void expect_listing_matches(const std::string& out, const std::string& file) {
  const io::SafeTensors st = io::read_safetensors(file);
  const std::vector<std::string> ls = lines(out);
  ASSERT_GE(ls.size(), 2u) << out;
  EXPECT_EQ(ls[0].rfind(file + ": " + std::to_string(st.tensors().size()) + " tensor", 0), 0u) << ls[0];
  EXPECT_NE(ls[0].find(grouped(st.data_bytes()) + " data bytes"), std::string::npos) << ls[0];
  size_t row = 1;
  if (!st.tensors().empty()) {
    EXPECT_EQ(words(ls[row++]), (std::vector<std::string>{"name", "dtype", "shape", "bytes"}));
    for (const auto& [name, t] : st.tensors()) {
      ASSERT_LT(row, ls.size());
      // name, dtype, shape (may contain ", "), bytes
      const std::string& l = ls[row++];
      EXPECT_EQ(l.rfind(name + " ", 0), 0u) << l;
      const std::vector<std::string> w = words(l.substr(name.size()));
      ASSERT_GE(w.size(), 3u) << l;
      EXPECT_EQ(w.front(), io::dtype_name(t.dtype)) << l;
      EXPECT_EQ(w.back(), grouped(t.nbytes())) << l;
      std::string cell(" ");  // built with += : GCC 12 warns (-Wrestrict) falsely on " " + s + " "
      cell += shape_str(t.shape);
      cell += ' ';
      EXPECT_NE(l.find(cell), std::string::npos) << l << " lacks " << shape_str(t.shape);
    }
  }
  ASSERT_LT(row, ls.size());
  EXPECT_EQ(ls[row++].rfind("metadata (" + std::to_string(st.metadata().size()) + ")", 0), 0u);
  EXPECT_EQ(ls.size() - row, st.metadata().size()) << out;
}

TEST_F(Cli, InspectListsAPyTorchMadeFile) {
  const Result r = run("inspect " + kDtypes);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  expect_listing_matches(r.out, kDtypes);
  // Spot checks a reader would look for: every dtype PyTorch wrote, a 0-d tensor, the metadata.
  for (const char* s : {"F16", "BF16", "F64", "I64", "I32", "[2, 3]", "[]", "torch_version: 1.13"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST_F(Cli, InspectJsonAgreesWithTheLibrary) {
  const Result r = run("inspect --json " + kDtypes);
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const io::SafeTensors st = io::read_safetensors(kDtypes);
  EXPECT_EQ(j.at("file"), kDtypes);
  EXPECT_EQ(j.at("data_bytes").get<uint64_t>(), st.data_bytes());
  EXPECT_EQ(j.at("header_bytes").get<uint64_t>(), st.header_bytes());
  ASSERT_EQ(j.at("tensors").size(), st.tensors().size());
  for (const auto& t : j.at("tensors")) {
    const io::TensorInfo& info = st.info(t.at("name"));
    EXPECT_EQ(t.at("dtype"), io::dtype_name(info.dtype));
    EXPECT_EQ(t.at("shape").get<Shape>(), info.shape);
    EXPECT_EQ(t.at("data_offsets"), (std::vector<uint64_t>{info.begin, info.end}));
    EXPECT_EQ(t.at("bytes").get<uint64_t>(), info.nbytes());
  }
  EXPECT_EQ(j.at("metadata").get<io::Metadata>(), st.metadata());
}

TEST_F(Cli, InspectAFileWrittenByTheLibraryKeepsMetadataOnOneLine) {
  const std::string f = path("model.safetensors");
  io::write_safetensors(f, {{"weight_ih_l0", Tensor::zeros({8, 3})}, {"empty", Tensor::zeros({0, 4})}},
                        {{"config", "{\n  \"hidden\": 2\n}"}, {"note", "tab\there"}},
                        {{"lengths", {{3}, {1, 2, 3}}}});
  const Result r = run("inspect " + f);
  ASSERT_EQ(r.status, 0) << r.err;
  expect_listing_matches(r.out, f);
  EXPECT_NE(r.out.find("  config: {\\n  \"hidden\": 2\\n}\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  note: tab\\there\n"), std::string::npos) << r.out;
  // No tensors at all is a valid file too.
  const std::string e = path("empty.safetensors");
  io::write_safetensors(e, {});
  const Result re = run("inspect " + e);
  ASSERT_EQ(re.status, 0) << re.err;
  EXPECT_EQ(re.out, e + ": 0 tensors, 0 elements, 0 data bytes, header 8 bytes\nmetadata (0)\n");
}

TEST_F(Cli, InspectEscapesControlCharactersInNames) {
  const std::string f = path("odd.safetensors");
  io::write_safetensors(f, {{"odd\nname", Tensor::zeros({2})}}, {{"k\tey", "v"}});
  const Result r = run("inspect " + f);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 5u) << "summary, column names, one tensor, metadata title, one entry:\n" << r.out;
  EXPECT_NE(r.out.find("\nodd\\nname  F32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  k\\tey: v\n"), std::string::npos) << r.out;
}

TEST_F(Cli, InspectBadFilesGiveOneLineErrorsNamingTheFile) {
  const std::string good = path("good.safetensors");
  io::write_safetensors(good, {{"w", Tensor::zeros({4, 4})}});
  std::string bytes = slurp(good);
  auto make = [&](const std::string& name, const std::string& content) {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  };
  const std::string truncated = make("truncated.safetensors", bytes.substr(0, bytes.size() - 5));
  const std::string padded = make("padded.safetensors", bytes + "xyz");
  const std::string cut_header = make("cut_header.safetensors", bytes.substr(0, 20));
  const std::string empty = make("empty.safetensors", "");
  const std::string text = make("notes.txt", "Call me Ishmael. Some years ago...\n");
  expect_one_line_error("inspect " + truncated, truncated + ": tensor 'w': data_offsets [0, 64] extend beyond");
  expect_one_line_error("inspect " + padded, padded + ": 3 trailing bytes after the last tensor");
  expect_one_line_error("inspect " + cut_header, cut_header + ": header length");
  expect_one_line_error("inspect " + empty, empty + ": file is 0 bytes, too short");
  expect_one_line_error("inspect " + text, text + ": header length");
  expect_one_line_error("inspect " + path("missing.safetensors"), path("missing.safetensors") + ": cannot open");
  expect_one_line_error("inspect " + dir_.string(), dir_.string() + ": no best.safetensors or last.safetensors");
}

}  // namespace
