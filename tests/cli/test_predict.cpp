// `recurrent predict` for every model kind, and `recurrent eval`'s language-model figure (issue 27),
// through the binary. Each test trains a tiny model here (a second or two on one thread) and checks
// the shape and content of what predict prints: TSV/JSONL records per non-blank input line,
// probabilities that sum to 1 and labels/tags from the model's own sets, CoNLL with one tag per
// token, translations equal to `translate`'s, the forecaster's CSV as before; options that do not
// apply to the model's kind and bad input are one-line refusals naming the option or file:line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "recurrent/data/text_file.h"
#include "recurrent/io/safetensors.h"
#include "run_cli.h"

namespace fs = std::filesystem;
using recurrent::testing::CmdResult;
using recurrent::testing::run;

namespace {

const std::string kMobyPredict = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
const std::string kHeldout = std::string(RECURRENT_TEST_DATA) + "/lm/moby_heldout.txt";

class Predict : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recurrent-predict-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    recurrent::data::write_file(path(name), content);
    return path(name);
  }
  // Trains with `args` into DIR/name and returns that directory.
  std::string train(const std::string& args, const std::string& name = "run") const {
    const CmdResult r = run("train " + args + " --quiet --threads 1 --out " + path(name));
    EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
    return path(name);
  }
  // A refusal: non-zero exit and exactly one line (stdout and stderr together) containing `want`.
  static void expect_refused(const std::string& args, const std::string& want) {
    const CmdResult r = run(args + " < /dev/null");
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.out.find(want), std::string::npos) << args << "\n  expected: " << want << "\n  got: " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
  }
  fs::path dir_;
};

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  size_t a = 0;
  for (size_t b; (b = line.find('\t', a)) != std::string::npos; a = b + 1) out.push_back(line.substr(a, b - a));
  out.push_back(line.substr(a));
  return out;
}

std::vector<nlohmann::json> jsonl(const std::string& s) {
  std::vector<nlohmann::json> out;
  for (const std::string& l : split_lines(s)) out.push_back(nlohmann::json::parse(l));
  return out;
}

// 60 sentences: "pos" ones with good words, "neg" ones with bad words.
std::string sentiment_tsv() {
  const char* good[] = {"good", "great", "fine", "lovely"};
  const char* bad[] = {"bad", "awful", "poor", "ugly"};
  std::string s;
  for (int i = 0; i < 60; ++i)
    s += i % 2 ? std::string("neg\tthe film was ") + bad[i % 4] + " and " + bad[(i / 4) % 4] + "\n"
               : std::string("pos\tthe film was ") + good[i % 4] + " and " + good[(i / 4) % 4] + "\n";
  return s;
}

TEST_F(Predict, ClassifierLabelsAndProbabilities) {
  const std::string model = train("classify --data " + write("s.tsv", sentiment_tsv()) + " --hidden 8 --epochs 3");
  const std::string in = write("in.txt", "a good and great film\n\n  \nan awful\tugly film\n");
  CmdResult r = run("predict --model " + model + " --input " + in);
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<std::string> ls = split_lines(r.out);
  ASSERT_EQ(ls.size(), 3u) << "a header and one row per non-blank line:\n" << r.out;
  EXPECT_EQ(ls[0], "text\tlabel\tneg\tpos");
  EXPECT_EQ(fields(ls[1])[0], "a good and great film");
  EXPECT_EQ(fields(ls[2])[0], "an awful\\tugly film") << "a TAB in the text is escaped";
  for (size_t i = 1; i < ls.size(); ++i) {
    const std::vector<std::string> f = fields(ls[i]);
    ASSERT_EQ(f.size(), 4u) << ls[i];
    const double neg = std::stod(f[2]), pos = std::stod(f[3]);
    EXPECT_NEAR(neg + pos, 1.0, 1e-5) << ls[i];
    EXPECT_EQ(f[1], neg > pos ? "neg" : "pos") << "the label is the most probable one: " << ls[i];
  }
  // JSONL from stdin to a file: the same predictions, with line numbers of the input.
  r = run("predict --model " + model + " --format jsonl --out " + path("p.jsonl") + " < " + in);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  const std::vector<nlohmann::json> js = jsonl(recurrent::data::read_file(path("p.jsonl")));
  ASSERT_EQ(js.size(), 2u);
  EXPECT_EQ(js[0].at("line"), 1);
  EXPECT_EQ(js[1].at("line"), 4);
  EXPECT_EQ(js[1].at("text"), "an awful\tugly film");
  for (size_t i = 0; i < js.size(); ++i) {
    const double neg = js[i].at("probs").at("neg"), pos = js[i].at("probs").at("pos");
    EXPECT_NEAR(neg + pos, 1.0, 1e-5);
    EXPECT_EQ(js[i].at("label"), fields(ls[i + 1])[1]);
  }
  // Options of other kinds, and bad input.
  const std::string p = "predict --model " + model;
  expect_refused(p + " --top-k 3", "--top-k: applies to language models; this model is a classifier");
  expect_refused(p + " --beam 2", "--beam: applies to encoder-decoders (train seq2seq); this model is a classifier");
  expect_refused(p + " --input-format conll", "--input-format: applies to taggers; this model is a classifier");
  expect_refused(p + " --data " + in, "--data: applies to forecasters and echo state networks (their CSV series); this model is a classifier (give its input");
  expect_refused(p + " --format xml", "--format: expected");
  expect_refused(p + " --input " + write("bad.txt", "fine\n\xff\xfe bytes\n"), "bad.txt:2: invalid UTF-8");
  expect_refused(p + " --input " + path("missing.txt"), "missing.txt");
  expect_refused("predict --model " + path("none"), "none");
}

// "word\tTAG" CoNLL sentences of determiners, nouns and verbs.
std::string tagged_conll() {
  const char* nouns[] = {"cat", "dog", "bird", "fish"};
  const char* verbs[] = {"sat", "ran", "sang", "swam"};
  std::string s;
  for (int i = 0; i < 40; ++i)
    s += std::string("the\tDET\n") + nouns[i % 4] + "\tNOUN\n" + verbs[(i / 4) % 4] + "\tVERB\n\n";
  return s;
}

TEST_F(Predict, TaggerWritesConll) {
  const std::string data = write("t.conll", tagged_conll());
  const std::string model = train("tag --data " + data + " --hidden 8 --embed 8 --min-count 1 --epochs 3");
  const std::set<std::string> tagset = {"DET", "NOUN", "VERB"};
  // One sentence a line (blank lines skipped): CoNLL out, one tag per token, a blank line after each.
  CmdResult r = run("predict --model " + model + " < " + write("in.txt", "the dog sang\n\nthe  fish\n"));
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<std::string> ls = split_lines(r.out);
  ASSERT_EQ(ls.size(), 7u) << r.out;
  const std::vector<std::string> tokens = {"the", "dog", "sang", "", "the", "fish", ""};
  for (size_t i = 0; i < ls.size(); ++i) {
    if (tokens[i].empty()) {
      EXPECT_EQ(ls[i], "");
      continue;
    }
    const std::vector<std::string> f = fields(ls[i]);
    ASSERT_EQ(f.size(), 2u) << ls[i];
    EXPECT_EQ(f[0], tokens[i]);
    EXPECT_TRUE(tagset.count(f[1])) << ls[i];
  }
  // CoNLL in (a tagged file as is; auto-detected by its TAB): one output line per input line.
  r = run("predict --model " + model + " --input " + data);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(split_lines(r.out).size(), split_lines(tagged_conll()).size());
  r = run("predict --model " + model + " --input " + data + " --input-format lines --format jsonl");
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<nlohmann::json> js = jsonl(r.out);
  ASSERT_EQ(js.size(), 120u) << "read as lines, every token line is a sentence of two tokens";
  EXPECT_EQ(js[0].at("tokens"), nlohmann::json({"the", "DET"}));
  for (const nlohmann::json& j : js) {
    ASSERT_EQ(j.at("tags").size(), j.at("tokens").size());
    for (const auto& p : j.at("probs")) EXPECT_TRUE(p.get<double>() > 0 && p.get<double>() <= 1.0);
  }
  expect_refused("predict --model " + model + " --input-format xml", "--input-format: expected");
  expect_refused("predict --model " + model + " --top-k 2", "--top-k: applies to language models; this model is a tagger");
  expect_refused("predict --model " + model + " --input-format conll --input " + write("c.conll", "the\tDET\n\tNOUN\n"),
                 "c.conll:2: expected a token in the first column");
}

// The top-k rows of an LM: k (token, probability) pairs, most likely first, all in (0, 1].
void expect_next_tokens(const std::string& row, size_t k, const std::string& context) {
  const std::vector<std::string> f = fields(row);
  ASSERT_EQ(f.size(), 1 + 2 * k) << row;
  EXPECT_EQ(f[0], context);
  double last = 1.0;
  for (size_t i = 0; i < k; ++i) {
    const double p = std::stod(f[2 + 2 * i]);
    EXPECT_TRUE(p > 0 && p <= last + 1e-12) << row;
    last = p;
  }
}

TEST_F(Predict, LanguageModelsNextTokens) {
  const std::string chars = train("lm --data " + kMobyPredict + " --hidden 16 --layers 1 --seq-len 20 --batch 8 --max-steps 5",
                                  "chars");
  const std::string words = train("lm --data " + kMobyPredict + " --level word --arch transformer --layers 1 --heads 2 "
                                  "--d-model 8 --ff 16 --context 16 --seq-len 16 --batch 4 --max-steps 3", "words");
  const std::string in = write("in.txt", "Call me Ishmae\nthe whale\n");
  CmdResult r = run("predict --model " + chars + " --input " + in);
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<std::string> ls = split_lines(r.out);
  ASSERT_EQ(ls.size(), 3u) << r.out;
  EXPECT_EQ(ls[0], "context\ttoken_1\tprob_1\ttoken_2\tprob_2\ttoken_3\tprob_3\ttoken_4\tprob_4\ttoken_5\tprob_5");
  expect_next_tokens(ls[1], 5, "Call me Ishmae");
  expect_next_tokens(ls[2], 5, "the whale");
  // The whole distribution (--top-k larger than the vocabulary): sums to 1, as JSONL.
  r = run("predict --model " + words + " --input " + in + " --top-k 100000 --format jsonl");
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<nlohmann::json> js = jsonl(r.out);
  ASSERT_EQ(js.size(), 2u);
  EXPECT_EQ(js[1].at("context"), "the whale");
  double sum = 0;
  std::set<std::string> seen;
  for (const auto& t : js[1].at("next")) sum += t.at("prob").get<double>(), seen.insert(t.at("token"));
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_GT(seen.size(), 100u) << "a word vocabulary";
  EXPECT_TRUE(seen.count("<eos>")) << "the end of the sentence is a possible next token";
  r = run("predict --model " + words + " --top-k 2 < " + in);
  ASSERT_EQ(r.status, 0) << r.out;
  ls = split_lines(r.out);
  ASSERT_EQ(ls.size(), 3u) << r.out;
  expect_next_tokens(ls[1], 2, "Call me Ishmae");
  expect_refused("predict --model " + chars + " --beam 3", "--beam: applies to encoder-decoders (train seq2seq); this "
                 "model is a language model");
  expect_refused("predict --model " + chars + " --top-k 0", "--top-k: expected a positive integer, got 0");
  expect_refused("predict --model " + chars + " --input-format lines", "--input-format: applies to taggers");
}

// 40 English -> Spanish pairs of two counting words, as tests/cli/test_seq2seq_cli.cpp.
std::string counting_pairs() {
  const char* words[] = {"one", "two", "three", "four"};
  const char* palabras[] = {"uno", "dos", "tres", "cuatro"};
  std::string s;
  for (int i = 0; i < 40; ++i)
    s += std::string(words[i % 4]) + " " + words[(i / 4) % 4] + "\t" + palabras[i % 4] + " " + palabras[(i / 4) % 4] + "\n";
  return s;
}

TEST_F(Predict, EncoderDecoderTranslations) {
  const std::string model = train("seq2seq --data " + write("p.tsv", counting_pairs()) + " --hidden 8 --embed 4 --epochs 2");
  const std::string in = write("in.txt", "one two\n\nthree\n");
  for (const char* beam : {"1", "3"}) {
    const CmdResult t = run("translate --model " + model + " --beam " + beam + " < " + in);
    ASSERT_EQ(t.status, 0) << t.out;
    const std::vector<std::string> want = split_lines(t.out);  // translate keeps the blank line
    CmdResult r = run("predict --model " + model + " --beam " + std::string(beam) + " --input " + in);
    ASSERT_EQ(r.status, 0) << r.out;
    std::vector<std::string> ls = split_lines(r.out);
    ASSERT_EQ(ls.size(), 3u) << r.out;
    EXPECT_EQ(ls[0], "source\ttranslation");
    EXPECT_EQ(ls[1], "one two\t" + want[0]);
    EXPECT_EQ(ls[2], "three\t" + want[2]);
  }
  CmdResult r = run("predict --model " + model + " --format jsonl --max-len 1 < " + in);
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<nlohmann::json> js = jsonl(r.out);
  ASSERT_EQ(js.size(), 2u);
  EXPECT_EQ(js[1].at("line"), 3);
  EXPECT_EQ(js[1].at("source"), "three");
  const std::string t = js[1].at("translation");
  EXPECT_EQ(t.find(' '), std::string::npos) << "--max-len 1: at most one word, got " << t;
  EXPECT_LE(js[0].at("log_prob").get<double>(), 0.0);
  expect_refused("predict --model " + model + " --top-k 2", "--top-k: applies to language models; this model is an "
                 "encoder-decoder");
  expect_refused("predict --model " + model + " --beam 0", "--beam: expected");
}

TEST_F(Predict, ConditionalLanguageModelNextWords) {
  std::string data;
  for (int i = 0; i < 40; ++i) data += i % 2 ? "sea\tthe whale swam far\n" : "land\tthe horse ran far\n";
  const std::string model = train("condlm --data " + write("g.tsv", data) + " --hidden 8 --epochs 2");
  CmdResult r = run("predict --model " + model + " --top-k 3 --format jsonl < " + write("in.txt", "sea\tthe\nland\t\n"));
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<nlohmann::json> js = jsonl(r.out);
  ASSERT_EQ(js.size(), 2u);
  EXPECT_EQ(js[0].at("label"), "sea");
  EXPECT_EQ(js[0].at("context"), "the");
  EXPECT_EQ(js[1].at("context"), "");
  for (const auto& j : js) EXPECT_EQ(j.at("next").size(), 3u);
  expect_refused("predict --model " + model + " --input " + write("nolabel.txt", "sea\tthe\nthe whale\n"),
                 "nolabel.txt:2: expected 'label<TAB>context'");
  expect_refused("predict --model " + model + " --input " + write("unknown.txt", "air\tthe\n"),
                 "unknown.txt:1: label 'air' does not occur in the training data");
}

TEST_F(Predict, ForecasterCsvAsBefore) {
  std::string csv = "t,y\n";
  for (int i = 0; i < 120; ++i) csv += std::to_string(i) + "," + std::to_string(5 + std::sin(i * 0.6) + 0.01 * (i % 7)) + "\n";
  const std::string data = write("s.csv", csv);
  const std::string model = train("forecast --data " + data + " --column y --time-column t --lookback 8 --horizon 2 "
                                  "--hidden 8 --epochs 2");
  CmdResult r = run("predict --model " + model + " --data " + data);
  ASSERT_EQ(r.status, 0) << r.out;
  const std::vector<std::string> ls = split_lines(r.out);
  ASSERT_GE(ls.size(), 3u) << r.out;
  for (size_t i = 1; i < ls.size(); ++i) EXPECT_EQ(std::count(ls[i].begin(), ls[i].end(), ','),
                                                   std::count(ls[0].begin(), ls[0].end(), ',')) << ls[i];
  const std::string stdout_csv = r.out;
  r = run("predict --model " + model + " --data " + data + " --out " + path("f.csv"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(recurrent::data::read_file(path("f.csv")), stdout_csv);
  const std::string p = "predict --model " + model;
  expect_refused(p, "--data: a forecaster predicts from its CSV series");
  expect_refused(p + " --data " + data + " --format jsonl", "--format: applies to text models; this model is a forecaster (it writes CSV)");
  expect_refused(p + " --data " + data + " --input " + data, "--input: applies to text models; this model is a forecaster "
                 "(it reads its series with --data)");
  expect_refused(p + " --data " + data + " --top-k 3", "--top-k: applies to language models; this model is a forecaster");
}

// --- eval: one figure whatever --batch ----------------------------------------------------------
double eval_bits(const std::string& model, const std::string& args) {
  const CmdResult r = run("eval --model " + model + " --data " + kHeldout + " --json " + args);
  EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens").get<int64_t>(), static_cast<int64_t>(recurrent::data::read_utf8_file(kHeldout).size()) - 1)
      << "every token but the first is scored, the tail too";
  return j.at("bits_per_token").get<double>();
}

TEST_F(Predict, EvalScoresAnLmTheSameAtAnyBatch) {
  const std::string model = train("lm --data " + kMobyPredict + " --hidden 32 --layers 1 --seq-len 32 --batch 16 --lr 1e-2 "
                                  "--max-steps 150");
  const std::string tf = train("lm --data " + kMobyPredict + " --arch transformer --layers 1 --heads 2 --d-model 16 --ff 32 "
                               "--context 32 --seq-len 32 --batch 16 --lr 1e-2 --max-steps 100", "tf");
  // --batch 1 is one stream, every token with all of the text before it (the transformer: its sliding
  // window). More rows each read the --seq-len (here 50) tokens before their part unscored (the
  // transformer: and start in step with its window's slides), so the figure changes only by float
  // rounding and, for the RNN, by what it remembers from further back. Measured: ≤ 1e-7 relative for
  // both; we allow 1e-5 (other SIMD targets round differently). Before, --batch 16 and 100000000 were
  // off by 0.03% and 20% (rows of one character from a zero state), and the tail was not scored.
  for (const std::string& m : {model, tf}) {
    const double one = eval_bits(m, "--batch 1 --seq-len 50");
    EXPECT_GT(one, 1.0);
    for (const char* b : {"4", "16", "100000000"})
      EXPECT_NEAR(eval_bits(m, std::string("--batch ") + b + " --seq-len 50"), one, 1e-5 * one) << m << " --batch " << b;
  }
  expect_refused("eval --model " + model + " --data " + kHeldout + " --batch 0", "--batch: expected a positive integer, got 0");
  expect_refused("eval --model " + model + " --data " + kHeldout + " --batch -1", "--batch: expected a positive integer, got -1");
  expect_refused("eval --model " + model + " --data " + kHeldout + " --seq-len 0", "--seq-len: expected a positive integer");
  expect_refused("eval --model " + model + " --data " + kHeldout + " --beam 2", "--beam: applies to encoder-decoders "
                 "(train seq2seq); this model is a language model");

  // NaN weights: eval and predict refuse, naming the tensor (a diverged run's checkpoint).
  const recurrent::io::SafeTensors st = recurrent::io::read_safetensors(model + "/last.safetensors");
  recurrent::io::NamedRawTensors raw;
  recurrent::io::NamedTensors f32;
  std::string poisoned;
  for (const std::string& name : st.names()) {
    if (poisoned.empty() && name.find("weight_hh") != std::string::npos) {
      recurrent::Tensor w = st.get_f32(name);
      w.data()[0] = std::numeric_limits<float>::quiet_NaN();
      f32.emplace_back(name, w);
      poisoned = name;
    } else {
      raw.emplace_back(name, st.raw_tensor(name));
    }
  }
  ASSERT_FALSE(poisoned.empty());
  if (poisoned.rfind("model.", 0) == 0) poisoned = poisoned.substr(6);  // the checkpoint's prefix of model tensors
  fs::create_directories(path("nan"));
  recurrent::io::write_safetensors(path("nan/last.safetensors"), f32, st.metadata(), {}, raw);
  expect_refused("eval --model " + path("nan") + " --data " + kHeldout, "the loss is NaN: its weight tensor '" + poisoned);
  expect_refused("predict --model " + path("nan") + " --input " + kHeldout, "weight tensor '" + poisoned + "' holds NaN");
}

}  // namespace
