// JSB chorale piano rolls (data/chorales.h): the layout read into [T, 88] rolls, and each kind of bad
// input (not a chorale set, pitches outside 21–108, an empty chorale, a missing split key) refused with
// one line naming the file and the place, tested on small files this test writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "recurrent/core/error.h"
#include "recurrent/data/chorales.h"

using namespace recurrent;
using namespace recurrent::data;
namespace fs = std::filesystem;

namespace {

// Writes `text` to a fresh file in the temp folder and returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("recurrent-chorales-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

// The message of the Error that reading `text` from a file throws ("" and a failure if none).
std::string read_error(const std::string& name, const std::string& text) {
  const std::string path = write_temp(name, text);
  try {
    read_chorales(path);
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "not one line: " << m;
    EXPECT_NE(m.find(path), std::string::npos) << "the file is not named: " << m;
    return m;
  }
  ADD_FAILURE() << name << ": no Error thrown";
  return "";
}

void expect_has(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
}

const char* kGood = R"({"train": [[[60, 64, 67], [], [21, 108, 60, 60]], [[62]]],
                        "valid": [[[59, 62]]], "test": [[[48], [50]], [[72]], [[74, 77]]], "note": "ignored"})";

}  // namespace

TEST(Chorales, ReadsEachSplitIntoPianoRolls) {
  const ChoraleSet s = read_chorales(write_temp("good.json", kGood));
  ASSERT_EQ(s.part(ChoraleSplit::train).size(), 2u);
  ASSERT_EQ(s.part(ChoraleSplit::valid).size(), 1u);
  ASSERT_EQ(s.part(ChoraleSplit::test).size(), 3u);
  EXPECT_EQ(s.steps(ChoraleSplit::train), 4);
  EXPECT_EQ(s.steps(ChoraleSplit::test), 4);
  const Tensor& r = s.part(ChoraleSplit::train)[0];
  ASSERT_EQ(r.shape(), (Shape{3, kPitches}));
  // Exactly the listed keys are 1: step 0 holds C4 E4 G4 (60 64 67 → columns 39 43 46), step 1 is a
  // rest, step 2 the range's ends and a doubled 60 (one note).
  double total = 0;
  for (int64_t i = 0; i < r.numel(); ++i) total += r.data()[i];
  EXPECT_EQ(total, 3 + 0 + 3);
  EXPECT_EQ(r.data()[0 * kPitches + 39], 1.0f);
  EXPECT_EQ(r.data()[0 * kPitches + 43], 1.0f);
  EXPECT_EQ(r.data()[0 * kPitches + 46], 1.0f);
  EXPECT_EQ(r.data()[2 * kPitches + 0], 1.0f);
  EXPECT_EQ(r.data()[2 * kPitches + 87], 1.0f);
  EXPECT_EQ(roll_pitches(r), (std::vector<std::vector<int64_t>>{{60, 64, 67}, {}, {21, 60, 108}}));
}

TEST(Chorales, PianoRollAndBackAreInverse) {
  const std::vector<std::vector<int64_t>> steps = {{43, 55, 62, 71}, {}, {21}, {108}, {60, 61, 62}};
  EXPECT_EQ(roll_pitches(piano_roll(steps, "x")), steps);
}

TEST(Chorales, NotAChoraleSetIsRefused) {
  expect_has(read_error("text.json", "C major, four voices"), "not JSON");
  expect_has(read_error("array.json", "[[[60]]]"), "expected a chorale set");
  const std::string m = read_error("numbers.json", R"({"train": [1, 2], "valid": [[[60]]], "test": [[[60]]]})");
  expect_has(m, "train[0]");
  expect_has(m, "expected a chorale");
  expect_has(read_error("split.json", R"({"train": {"a": 1}, "valid": [[[60]]], "test": [[[60]]]})"),
             "'train' is a JSON object");
  expect_has(read_error("step.json", R"({"train": [[60, 62]], "valid": [[[60]]], "test": [[[60]]]})"),
             "train[0] step 0 is a JSON number, expected a list of MIDI pitches");
  expect_has(read_error("pitch.json", R"({"train": [[[60.5]]], "valid": [[[60]]], "test": [[[60]]]})"),
             "expected an integer MIDI pitch");
}

TEST(Chorales, PitchesOutsideThePianoAreRefused) {
  std::string m = read_error("low.json", R"({"train": [[[60]]], "valid": [[[60], [64, 20]]], "test": [[[60]]]})");
  expect_has(m, "valid[0]");
  expect_has(m, "step 1: pitch 20 is outside the piano range 21-108");
  m = read_error("high.json", R"({"train": [[[60]]], "valid": [[[60]]], "test": [[[60]], [[109]]]})");
  expect_has(m, "test[1]");
  expect_has(m, "pitch 109");
}

TEST(Chorales, EmptyChoralesAndSplitsAreRefused) {
  const std::string m = read_error("empty.json", R"({"train": [[[60]], []], "valid": [[[60]]], "test": [[[60]]]})");
  expect_has(m, "train[1] is an empty chorale");
  expect_has(read_error("nosplit.json", R"({"train": [[[60]]], "valid": [], "test": [[[60]]]})"),
             "'valid' holds no chorales");
}

TEST(Chorales, AMissingSplitKeyIsNamed) {
  const std::string m = read_error("missing.json", R"({"train": [[[60]]], "valid": [[[60]]]})");
  expect_has(m, "no 'test' split");
}

TEST(Chorales, SplitNames) {
  EXPECT_EQ(parse_split("valid", "--part"), ChoraleSplit::valid);
  EXPECT_THROW(parse_split("dev", "--part"), Error);
}
