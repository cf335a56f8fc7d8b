// classify / tag / translate over HTTP give what `recurrent predict --format jsonl` prints for the same
// models and text (tiny models trained here through the CLI, a second each on one thread); requests
// for a kind no model has, or for a model of another kind, are refused with 404 / 400.
#include <fstream>

#include "recurrent/data/text_file.h"
#include "serve_fixture.h"

using namespace recurrent::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class TaskRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recurrent-serve-tasks-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) const {
    recurrent::data::write_file((dir_ / name).string(), content);
    return (dir_ / name).string();
  }
  std::string train(const std::string& args, const std::string& name) const {
    const CmdResult r = run("train " + args + " --quiet --threads 1 --out " + (dir_ / name).string());
    EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
    return (dir_ / name).string();
  }
  // `recurrent predict --format jsonl` on one line of input.
  json predicted(const std::string& model, const std::string& line, const std::string& extra = "") const {
    const CmdResult r = run("predict --threads 1 --format jsonl --model " + model + " " + extra + " --input " +
                            write("in.txt", line + "\n"));
    EXPECT_EQ(r.status, 0) << r.out;
    return json::parse(r.out, nullptr, false);
  }
  fs::path dir_;
};

std::string sentiment_tsv() {
  const char* good[] = {"good", "great", "fine", "lovely"};
  const char* bad[] = {"bad", "awful", "poor", "ugly"};
  std::string s;
  for (int i = 0; i < 60; ++i)
    s += i % 2 ? std::string("neg\tthe film was ") + bad[i % 4] + " and " + bad[(i / 4) % 4] + "\n"
               : std::string("pos\tthe film was ") + good[i % 4] + " and " + good[(i / 4) % 4] + "\n";
  return s;
}

std::string tagged_conll() {
  const char* nouns[] = {"cat", "dog", "bird", "fish"};
  const char* verbs[] = {"sat", "ran", "sang", "swam"};
  std::string s;
  for (int i = 0; i < 40; ++i) s += std::string("the\tDET\n") + nouns[i % 4] + "\tNOUN\n" + verbs[(i / 4) % 4] + "\tVERB\n\n";
  return s;
}

std::string counting_pairs() {
  const char* words[] = {"one", "two", "three", "four"};
  const char* palabras[] = {"uno", "dos", "tres", "cuatro"};
  std::string s;
  for (int i = 0; i < 40; ++i)
    s += std::string(words[i % 4]) + " " + words[(i / 4) % 4] + "\t" + palabras[i % 4] + " " + palabras[(i / 4) % 4] + "\n";
  return s;
}

}  // namespace

TEST_F(TaskRoutes, ClassifyTagTranslateAsPredict) {
  const std::string cls = train("classify --data " + write("s.tsv", sentiment_tsv()) + " --hidden 8 --epochs 2", "cls");
  const std::string tag = train("tag --data " + write("t.conll", tagged_conll()) + " --hidden 8 --embed 8 --epochs 2", "tag");
  const std::string s2s = train("seq2seq --data " + write("p.tsv", counting_pairs()) + " --hidden 8 --embed 4 --epochs 2",
                                "s2s");
  recurrent::serve::ServeOptions o = tiny_options();
  o.models = {{"cls", cls}, {"tag", tag}, {"s2s", s2s}};
  RunningServer s(o);
  auto c = s.client();

  Reply r = post(*c, "/v1/classify", R"({"text": "a good and great film"})");
  ASSERT_EQ(r.status, 200) << r.raw;
  json want = predicted(cls, "a good and great film");
  EXPECT_EQ(r.body["label"], want["label"]);
  for (auto& [label, p] : want["probs"].items()) EXPECT_NEAR(r.body["probs"][label].get<double>(), p.get<double>(), 1e-6);

  r = post(*c, "/v1/tag", R"({"model": "tag", "text": "the dog sang"})");
  ASSERT_EQ(r.status, 200) << r.raw;
  want = predicted(tag, "the dog sang");
  EXPECT_EQ(r.body["tokens"], want["tokens"]);
  EXPECT_EQ(r.body["tags"], want["tags"]);

  r = post(*c, "/v1/translate", R"({"text": "one two", "beam": 3})");
  ASSERT_EQ(r.status, 200) << r.raw;
  want = predicted(s2s, "one two", "--beam 3");
  EXPECT_EQ(r.body["translation"], want["translation"]);

  EXPECT_EQ(post(*c, "/v1/generate", R"({"length": 3})").status, 404);  // no language model served
  EXPECT_EQ(post(*c, "/v1/classify", R"({"model": "tag", "text": "a"})").status, 400);
  EXPECT_EQ(post(*c, "/v1/translate", R"({"text": "one", "beam": -1})").status, 400);
  auto m = c->Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["models"].size(), 3u);
}
