// Batched scoring (tasks/lm_score.h, used by the server's engine for every score request waiting at
// once): texts of different lengths side by side in one pass give each text's score_text (to 1e-6
// relative: the batched products round differently), one text alone exactly score_text; and over HTTP,
// 8 clients scoring at once each get `recurrent score --json`'s answer.
#include <cmath>

#include "recurrent/core/error.h"
#include "recurrent/tasks/lm_score.h"
#include "serve_fixture.h"

using namespace recurrent::testing;
using nlohmann::json;
namespace tasks = recurrent::tasks;

namespace {

const std::vector<std::string> kTexts = {"Call me Ishmael.", "whale", "Some years ago -- never mind how long precisely",
                                         "a", "the sea, the sea", "It is a way I have of driving off the spleen"};

void expect_close(const tasks::TextScore& got, const tasks::TextScore& want, const std::string& text) {
  EXPECT_NEAR(got.log_prob, want.log_prob, 1e-6 * std::max(1.0, std::fabs(want.log_prob))) << text;
  ASSERT_EQ(got.tokens.size(), want.tokens.size()) << text;
  for (size_t i = 0; i < want.tokens.size(); ++i) {
    EXPECT_EQ(got.tokens[i].token, want.tokens[i].token) << text << " " << i;
    EXPECT_NEAR(got.tokens[i].prob, want.tokens[i].prob, 1e-6) << text << " " << i;
    EXPECT_EQ(got.tokens[i].unk, want.tokens[i].unk) << text << " " << i;
  }
}

}  // namespace

TEST(ScoreBatch, SideBySideAsOneAtATime) {
  recurrent::set_num_threads(1);
  std::unique_ptr<tasks::LmModel> m = tasks::open_lm(tiny_lm());
  std::vector<tasks::ScoreInput> in;
  for (const std::string& t : kTexts) in.push_back(tasks::score_input(m->vocab(), t));
  const std::vector<tasks::TextScore> batched = tasks::score_texts(*m, in);
  ASSERT_EQ(batched.size(), kTexts.size());
  for (size_t b = 0; b < kTexts.size(); ++b) expect_close(batched[b], tasks::score_text(*m, kTexts[b]), kTexts[b]);
  const tasks::TextScore alone = tasks::score_texts(*m, {in[2]})[0];
  EXPECT_EQ(alone.log_prob, tasks::score_text(*m, kTexts[2]).log_prob);  // the same call: bitwise
  EXPECT_THROW(tasks::score_input(m->vocab(), ""), recurrent::Error);
}

TEST(ScoreBatch, ConcurrentClientsGetTheCliScores) {
  RunningServer s(tiny_options());
  std::vector<std::thread> clients;
  std::vector<Reply> got(8);
  for (size_t i = 0; i < got.size(); ++i)
    clients.emplace_back([&, i] {
      auto c = s.client();
      got[i] = post(*c, "/v1/score", json{{"text", kTexts[i % kTexts.size()]}}.dump());
    });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string& text = kTexts[i % kTexts.size()];
    ASSERT_EQ(got[i].status, 200) << got[i].raw;
    const CmdResult cli = run("score --json --threads 1 --model " + tiny_lm() + " '" + text + "'");
    ASSERT_EQ(cli.status, 0) << cli.out;
    const json want = json::parse(cli.out);
    EXPECT_NEAR(got[i].body["log_prob"].get<double>(), want["log_prob"].get<double>(),
                1e-6 * std::max(1.0, std::fabs(want["log_prob"].get<double>()))) << text;
    EXPECT_EQ(got[i].body["tokens"].size(), want["tokens"].size()) << text;
  }
  auto m = s.client()->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("recurrent_score_rows_total{model=\"tiny\"} 8\n"), std::string::npos) << m->body;
}
