// explore/explorer.h over HTTP: the page and its assets, runs listed live, metrics rows from an offset,
// the Cells and Samples routes on a tiny trained LM, and every bad request a 4xx with one JSON line.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "explore/explorer.h"
#include "serve/serve_fixture.h"

namespace recurrent::explore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ExplorerTest : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("recurrent-explore-" + std::to_string(::getpid()));
  std::unique_ptr<Explorer> ex;
  std::thread t;
  int port = 0;

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir / "runs" / "a");
    std::ofstream(dir / "runs" / "a" / "metrics.csv") << "step,train_loss\n1,3.5\n2,3.25\n";
    fs::create_symlink(fs::absolute(recurrent::testing::tiny_lm()), dir / "runs" / "lm");
    ExploreOptions o;
    o.paths = {(dir / "runs").string()};
    o.port = 0;
    o.text = "Call me Ishmael.";
    ex = std::make_unique<Explorer>(o);
    port = ex->bind();
    t = std::thread([this] { ex->run(); });
  }
  void TearDown() override {
    ex->stop();
    t.join();
    fs::remove_all(dir);
  }
  httplib::Result get(const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    return c.Get(path.c_str());
  }
  httplib::Result post(const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port);
    return c.Post(path.c_str(), body, "application/json");
  }
};

void expect_error(const httplib::Result& r, int status) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r->body;
  EXPECT_TRUE(j.contains("error")) << r->body;
}

TEST_F(ExplorerTest, ServesThePageAndItsAssetsFromTheBinary) {
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("/assets/explore.js"), std::string::npos);
  EXPECT_EQ(r->body.find("http"), std::string::npos) << "the page must reference nothing outside the server";
  r = get("/assets/explore.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("lineChart"), std::string::npos);
  expect_error(get("/assets/nope.js"), 404);
  expect_error(get("/assets/..%2Fexplorer.h"), 404);
}

TEST_F(ExplorerTest, ListsRunsLiveAndReadsMetricsFromAnOffset) {
  json j = json::parse(get("/api/runs")->body);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["name"], "a");
  EXPECT_TRUE(j["runs"][1]["model"].get<bool>());
  j = json::parse(get("/api/runs/a/metrics?from=1")->body);
  EXPECT_EQ(j["total"], 2);
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0][1], 3.25);
  std::ofstream(dir / "runs" / "a" / "metrics.csv", std::ios::app) << "3,3.0\n4,";  // a row and a half
  j = json::parse(get("/api/runs/a/metrics?from=2")->body);
  EXPECT_EQ(j["total"], 3);
  fs::create_directories(dir / "runs" / "b");
  std::ofstream(dir / "runs" / "b" / "metrics.csv") << "step\n";
  EXPECT_EQ(json::parse(get("/api/runs")->body)["runs"].size(), 3u);
  j = json::parse(get("/api/runs/lm/model")->body);
  EXPECT_EQ(j["task"], "lm");
}

TEST_F(ExplorerTest, CellsAndSamplesOnATrainedModel) {
  auto r = post("/api/cells", R"({"run": "lm", "text": "Call me “Ishmael”."})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json c = json::parse(r->body);
  EXPECT_EQ(c["chars"].size(), 18u);
  EXPECT_EQ(c["prob"].size(), 18u);
  EXPECT_LT(c["gate_check"].get<double>(), 1e-5);
  const std::string id = c["id"];
  r = get("/api/cells/" + id + "/unit?layer=1&index=3&kind=c");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["values"].size(), 18u);
  r = post("/api/cells/" + id + "/search", R"({"pattern": "quotes", "top": 5})");
  ASSERT_EQ(r->status, 200) << r->body;
  const json s = json::parse(r->body);
  ASSERT_EQ(s["units"].size(), 5u);
  EXPECT_GE(std::fabs(s["units"][0]["r"].get<double>()), std::fabs(s["units"][4]["r"].get<double>()));
  r = post("/api/cells/" + id + "/search", R"({"spans": [[0, 4]], "kinds": ["h"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["units"][0]["kind"], "h");
  r = post("/api/sample", R"({"run": "lm", "prime": "Call", "length": 7, "temperature": 0.8, "seed": 3})");
  ASSERT_EQ(r->status, 200) << r->body;
  const json g = json::parse(r->body);
  ASSERT_EQ(g["tokens"].size(), 11u);  // 4 prime characters and 7 drawn
  for (const json& t : g["tokens"]) EXPECT_GT(t["prob"].get<double>(), 0.0);
  EXPECT_EQ(json::parse(get("/api/text")->body)["text"], "Call me Ishmael.");
}

TEST_F(ExplorerTest, CellsOfTheExplorersTextWithTheFirstSearchInOneReply) {
  // No "text": the explorer's --text; "search": the search endpoint's answer in the same reply.
  auto r = post("/api/cells", R"({"run": "lm", "search": {"pattern": "line", "kinds": ["c"], "top": 3}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json c = json::parse(r->body);
  ASSERT_EQ(c["chars"].size(), 16u);  // "Call me Ishmael."
  EXPECT_EQ(c["chars"][15], ".");
  ASSERT_EQ(c["search"]["units"].size(), 3u);
  EXPECT_EQ(c["search"]["units"][0]["kind"], "c");
  EXPECT_EQ(c["search"]["best_values"].size(), 16u);
  const std::string id = c["id"];
  const json s = json::parse(post("/api/cells/" + id + "/search", R"({"pattern": "line", "kinds": ["c"], "top": 3})")->body);
  EXPECT_EQ(s, c["search"]);
  // The same text given: the same cell set, and no search in the reply without asking.
  const json again = json::parse(post("/api/cells", R"({"run": "lm", "text": "Call me Ishmael."})")->body);
  EXPECT_EQ(again["id"], id);
  EXPECT_FALSE(again.contains("search"));
}

TEST_F(ExplorerTest, GateRowsAreReadWhenFirstAskedFor) {
  // The first reading keeps h and c; the reply names every kind, and a gate's row or a search over the
  // gates reads the text again with them (each gate of an LSTM in (0, 1)).
  auto r = post("/api/cells", R"({"run": "lm", "search": {"pattern": "line", "kinds": ["c", "h"], "top": 2}})");
  ASSERT_EQ(r->status, 200) << r->body;
  const json c = json::parse(r->body);
  EXPECT_EQ(c["layers"][0]["kinds"], json({"h", "c", "i", "f", "o"}));
  const std::string id = c["id"], h_row = get("/api/cells/" + id + "/unit?layer=0&index=1&kind=h")->body;
  for (const char* kind : {"i", "f", "o"}) {
    r = get("/api/cells/" + id + "/unit?layer=0&index=1&kind=" + kind);
    ASSERT_EQ(r->status, 200) << kind << ": " << r->body;
    const json v = json::parse(r->body)["values"];
    ASSERT_EQ(v.size(), 16u) << kind;
    for (const json& x : v) {
      EXPECT_TRUE(x.get<double>() >= 0.0 && x.get<double>() <= 1.0) << kind << " " << x;
    }
  }
  EXPECT_EQ(get("/api/cells/" + id + "/unit?layer=0&index=1&kind=h")->body, h_row);  // the same h after
  const json s = json::parse(post("/api/cells/" + id + "/search", R"({"pattern": "line", "kinds": ["f"], "top": 2})")->body);
  ASSERT_EQ(s["units"].size(), 2u) << s;
  EXPECT_EQ(s["units"][0]["kind"], "f");
  expect_error(get("/api/cells/" + id + "/unit?layer=0&index=1&kind=r"), 400);  // an LSTM has no r
  expect_error(get("/api/cells/999/unit?layer=0&index=1&kind=f"), 404);
}

TEST_F(ExplorerTest, AttentionOfAnEncoderDecoderIsTranslatesOwn) {
  std::string pairs;  // counting in English and Spanish (as tests/serve/test_task_routes.cpp)
  const char* en[] = {"one", "two", "three", "four"};
  const char* es[] = {"uno", "dos", "tres", "cuatro"};
  for (int i = 0; i < 40; ++i) pairs += std::string(en[i % 4]) + " " + en[i / 4 % 4] + "\t" + es[i % 4] + " " + es[i / 4 % 4] + "\n";
  std::ofstream(dir / "pairs.tsv") << pairs;
  std::ofstream(dir / "src.txt") << "one two\n";
  const std::string s2s = (dir / "runs" / "s2s").string();
  auto r = recurrent::testing::run("--threads 1 train seq2seq --data " + (dir / "pairs.tsv").string() +
                                   " --hidden 8 --embed 4 --epochs 2 --quiet --out " + s2s);
  ASSERT_EQ(r.status, 0) << r.out;
  auto res = post("/api/attention", R"({"run": "s2s", "text": "One two", "beam": 3})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["source"], json({"one", "two"}));
  ASSERT_EQ(j["results"].size(), 2u);
  for (int k = 0; k < 2; ++k) {
    const json& d = j["results"][k];
    ASSERT_EQ(d["attention"].size(), d["target"].size()) << res->body;
    for (const json& row : d["attention"]) {
      ASSERT_EQ(row.size(), 2u);
      EXPECT_NEAR(row[0].get<double>() + row[1].get<double>(), 1.0, 1e-3);
    }
  }
  r = recurrent::testing::run("--threads 1 translate --model " + s2s + " < " + (dir / "src.txt").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(j["results"][0]["translation"].get<std::string>() + "\n", r.out);  // greedy = translate's
  r = recurrent::testing::run("--threads 1 translate --beam 3 --model " + s2s + " < " + (dir / "src.txt").string());
  EXPECT_EQ(j["results"][1]["translation"].get<std::string>() + "\n", r.out);
}

// A transformer's maps (explore/attention_maps.h): every layer and head, rows summing to 1, the causal
// ones zero above the diagonal; the encoder-decoder's for the greedy and the beam's translations.
TEST_F(ExplorerTest, AttentionMapsOfTransformers) {
  std::string pairs;
  const char* en[] = {"one", "two", "three", "four"};
  const char* es[] = {"uno", "dos", "tres", "cuatro"};
  for (int i = 0; i < 40; ++i) pairs += std::string(en[i % 4]) + " " + en[i / 4 % 4] + "\t" + es[i % 4] + " " + es[i / 4 % 4] + "\n";
  std::ofstream(dir / "pairs.tsv") << pairs;
  auto r = recurrent::testing::run("--threads 1 train seq2seq --arch transformer --layers 1 --heads 2 --d-model 8 --ff 16 "
                                   "--data " + (dir / "pairs.tsv").string() + " --epochs 1 --quiet --out " + (dir / "runs" / "s2st").string());
  ASSERT_EQ(r.status, 0) << r.out;
  r = recurrent::testing::run("--threads 1 train lm --arch transformer --layers 2 --heads 2 --d-model 8 --ff 16 --context 16 "
                              "--seq-len 16 --batch 2 --max-steps 2 --level char --quiet --data " + (dir / "pairs.tsv").string() +
                              " --out " + (dir / "runs" / "tlm").string());
  ASSERT_EQ(r.status, 0) << r.out;
  const auto rows_sum_to_one = [](const json& m, bool causal) {
    ASSERT_EQ(m["heads"].size(), 2u) << m["name"];
    for (const json& head : m["heads"]) {
      ASSERT_EQ(head.size(), m["rows"].size());
      for (size_t i = 0; i < head.size(); ++i) {
        ASSERT_EQ(head[i].size(), m["cols"].size());
        double s = 0;
        for (size_t j = 0; j < head[i].size(); ++j) {
          s += head[i][j].get<double>();
          if (causal && j > i) {
            EXPECT_EQ(head[i][j].get<double>(), 0.0) << m["name"];
          }
        }
        EXPECT_NEAR(s, 1.0, 1e-3) << m["name"];
      }
    }
  };
  auto res = post("/api/attention", R"({"run": "s2st", "text": "three one", "beam": 3})");
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const json& d : j["results"]) {
    ASSERT_EQ(d["maps"].size(), 3u);  // one block a side: encoder self, decoder self, cross
    for (const json& m : d["maps"]) {
      const std::string what = m["what"];
      if (what != "decoder self") {
        EXPECT_EQ(m["cols"], json({"three", "one"}));
      }
      if (what != "encoder self") {
        EXPECT_EQ(m["rows"].size(), d["target"].size() + (d["ended"].get<bool>() ? 0 : 1));
      }
      rows_sum_to_one(m, what == "decoder self");
    }
  }
  res = post("/api/attention", R"({"run": "tlm", "text": "one two"})");
  ASSERT_EQ(res->status, 200) << res->body;
  j = json::parse(res->body);
  ASSERT_EQ(j["maps"].size(), 2u);
  for (const json& m : j["maps"]) {
    EXPECT_EQ(m["rows"].size(), 8u);  // the start token and 7 characters
    rows_sum_to_one(m, true);
  }
  expect_error(post("/api/attention", R"({"run": "tlm", "text": "a text longer than the sixteen-token context"})"), 400);
}

TEST_F(ExplorerTest, BadRequestsGetOneLineErrors) {
  expect_error(get("/api/nope"), 404);
  expect_error(get("/api/runs/zz/metrics"), 404);
  expect_error(get("/api/runs/a/metrics?from=-3"), 400);
  expect_error(get("/api/runs/a/metrics?from=abc"), 400);
  expect_error(get("/api/runs/a/diagnostics"), 409);
  expect_error(get("/api/runs/a/model"), 409);
  expect_error(post("/api/cells", "{"), 400);
  expect_error(post("/api/cells", "[1]"), 400);
  expect_error(post("/api/cells", R"({"run": "lm", "search": [1]})"), 400);
  expect_error(post("/api/cells", R"({"run": "lm", "search": {"pattern": "quotes", "x": 1}})"), 400);
  expect_error(post("/api/cells", R"({"run": "lm", "search": {"pattern": "nope"}})"), 400);
  expect_error(post("/api/cells", R"({"run": "lm", "text": 5})"), 400);
  expect_error(post("/api/cells", R"({"run": "lm", "text": "a", "x": 1})"), 400);
  expect_error(post("/api/cells", R"({"run": "a", "text": "abc"})"), 400);  // no model in that run
  EXPECT_EQ(post("/api/cells", R"({"run": "lm", "text": "\u00ff\u00ff"})")->status, 200);  // unknown characters: <unk>
  expect_error(post("/api/cells", std::string(R"({"run": "lm", "text": ")") + std::string(2 << 20, 'a') + "\"}"), 413);
  expect_error(get("/api/cells/123/unit?layer=0&index=0"), 404);
  const std::string id = json::parse(post("/api/cells", R"({"run": "lm", "text": "abc"})")->body)["id"];
  expect_error(get("/api/cells/" + id + "/unit?layer=9&index=0"), 400);
  expect_error(get("/api/cells/" + id + "/unit?layer=0&index=99999"), 400);
  expect_error(get("/api/cells/" + id + "/unit?layer=0&index=0&kind=q"), 400);
  expect_error(post("/api/cells/" + id + "/search", R"({"pattern": "quotes", "spans": [[0, 1]]})"), 400);
  expect_error(post("/api/cells/" + id + "/search", R"({"spans": [[0, 9]]})"), 400);
  expect_error(post("/api/cells/" + id + "/search", R"({"spans": "x"})"), 400);
  expect_error(post("/api/cells/" + id + "/search", R"({"pattern": "quotes", "top": 0})"), 400);
  expect_error(post("/api/attention", R"({"run": "lm", "text": "one two"})"), 400);  // an RNN LM: no attention
  expect_error(post("/api/attention", R"({"run": "lm", "text": "a", "beam": 0})"), 400);
  expect_error(post("/api/attention", R"({"run": "zz", "text": "a"})"), 404);
  expect_error(post("/api/sample", R"({"run": "lm", "temperature": 0})"), 400);
  expect_error(post("/api/sample", R"({"run": "lm", "top_p": 2})"), 400);
  expect_error(post("/api/sample", R"({"run": "lm", "length": 1e9})"), 400);
}

}  // namespace
}  // namespace recurrent::explore
