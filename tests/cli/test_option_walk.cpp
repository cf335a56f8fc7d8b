// The option walk (issue 27, acceptance 2): every option of every subcommand, read from the CLI's own
// definitions (`recurrent --list-options`, cli/options.h), has a check of a known kind, and a value of
// the wrong kind is refused with one line naming the option and a non-zero exit — before any work.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "run_cli.h"

using recurrent::testing::run;
namespace fs = std::filesystem;

namespace {

// A value each kind refuses ("" for kinds where any value is accepted).
std::string bad_value(const std::string& kind, const std::string& missing) {
  static const std::map<std::string, std::string> bad = {
      {"positive", "0"},       {"count", "-1"},           {"seed", "-1"},        {"real", "abc"},
      {"positive-real", "0"},  {"nonneg-real", "-1"},     {"fraction", "1"},     {"probability", "0"},
      {"duration", "5q"},      {"steps-or-duration", "5q"}, {"positive-list", "16,0"}, {"nonneg-real-list", "1,-1"},
      {"cells", "lstm,nope"},  {"choice", "nope"},        {"choice-list", "nope"}, {"range", "-1"},
      {"text", ""},            {"flag", ""}};
  if (kind == "file" || kind == "dir" || kind == "path") return missing;
  auto it = bad.find(kind);
  return it == bad.end() ? "?" : it->second;
}

// A value each kind accepts ("" where no value fits every option of the kind: choices, ranges).
std::string good_value(const std::string& kind, const std::string& file, const std::string& dir) {
  static const std::map<std::string, std::string> good = {
      {"positive", "3"},        {"count", "2"},         {"seed", "7"},         {"real", "0.5"},
      {"positive-real", "0.5"}, {"nonneg-real", "0.5"}, {"fraction", "0.5"},   {"probability", "0.5"},
      {"duration", "1.5m"},     {"steps-or-duration", "90s"}, {"positive-list", "3,2"}, {"nonneg-real-list", "0,0.5"},
      {"cells", "lstm"},        {"text", "x"}};
  if (kind == "file") return file;
  if (kind == "dir" || kind == "path") return dir;
  auto it = good.find(kind);
  return it == good.end() ? "" : it->second;
}

struct Listed {
  std::string command, option, kind;
  bool flag = false;
};

std::vector<Listed> list_options() {
  recurrent::testing::CmdResult r = run("--list-options");
  EXPECT_EQ(r.status, 0) << r.out;
  std::vector<Listed> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    out.push_back({j.at("command"), j.at("option"), j.at("kind"), j.at("flag")});
  }
  return out;
}

}  // namespace

TEST(OptionWalk, EveryOptionHasACheck) {
  const std::vector<Listed> opts = list_options();
  std::set<std::string> commands;
  for (const Listed& o : opts) {
    commands.insert(o.command);
    EXPECT_FALSE(o.kind.empty()) << o.command << " " << o.option << ": no check (cli/options.h)";
    EXPECT_NE(bad_value(o.kind, "x"), "?") << o.command << " " << o.option << ": unknown kind " << o.kind;
  }
  // Every subcommand that does work is walked (the list comes from the CLI's own definitions).
  for (const char* c : {"train lm", "train classify", "train tag", "train forecast", "train condlm", "train seq2seq",
                        "train music", "eval", "score", "sample", "predict", "translate", "forward", "bench",
                        "gradlab train", "gradlab profile", "gradlab transformer", "experiment adding",
                        "experiment seqimage"})
    EXPECT_TRUE(commands.count(c)) << "not listed: " << c;
  EXPECT_GT(opts.size(), 200u);
}

TEST(OptionWalk, WrongValuesAreRefusedNamingTheOption) {
  const fs::path dir = fs::temp_directory_path() / ("recurrent-walk-" + std::to_string(::getpid()));
  const std::string missing = (dir / "missing").string();
  int tried = 0;
  for (const Listed& o : list_options()) {
    const std::string bad = bad_value(o.kind, missing);
    if (o.flag || bad.empty() || bad == "?") continue;
    // `--out` goes to a folder that is never made: a check that failed to run must not leave one.
    const std::string args = o.command + " " + o.option + " '" + bad + "' --threads 1";
    recurrent::testing::CmdResult r = run(args);
    ++tried;
    EXPECT_NE(r.status, 0) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("recurrent: error: " + o.option + ": "), std::string::npos) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << args << ": one line expected\n" << r.out;
  }
  EXPECT_GT(tried, 150);
  EXPECT_FALSE(fs::exists(dir));
}

// A value of the right kind is taken as written: every option converts it to what it binds ("1.5m" of a
// duration bound to seconds, issue 27's `experiment --time-budget 20s`). CLI11 converts every given value
// before it answers --help, so `COMMAND OPTION VALUE … --help` exits 0 exactly when all the values are
// accepted (one run per command with all its options; a refusal names the option).
TEST(OptionWalk, GoodValuesAreAcceptedAsWritten) {
  const std::string file = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
  const std::string dir = std::string(RECURRENT_TEST_DATA) + "/lm";
  std::map<std::string, std::string> args;  // command → its options with good values
  int tried = 0;
  for (const Listed& o : list_options()) {
    const std::string good = good_value(o.kind, file, dir);
    if (o.flag || good.empty()) continue;
    args[o.command] += " " + o.option + " '" + good + "'";
    ++tried;
  }
  for (const auto& [command, options] : args) {
    recurrent::testing::CmdResult r = run(command + options + " --help");
    EXPECT_EQ(r.status, 0) << command << options << "\n" << r.out.substr(0, 400);
  }
  EXPECT_GT(tried, 150);
}

TEST(OptionWalk, ThreadsAndTargetAreAcceptedAfterAnySubcommand) {
  for (const char* c : {"bench --hidden 0", "experiment adding --hidden 0", "gradlab train --hidden 0",
                        "train lm --hidden 0"}) {
    recurrent::testing::CmdResult r = run(std::string(c) + " --threads 1");
    EXPECT_NE(r.out.find("--hidden: expected a positive integer"), std::string::npos) << c << "\n" << r.out;
  }
}
