// serve/generation.h: stop strings end the text before them, and no piece of a stop string is
// ever released to the client; pieces arrive in order; held-back text is released at the end; a
// stream's pieces are handed over together, at most once per `flush`; a token's event is
// what nlohmann::json's dump gives.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "serve/generation.h"

using namespace recurrent::serve;

namespace {

std::shared_ptr<Generation> make(std::vector<std::string> stop, Clock::duration flush = Clock::duration::zero()) {
  GenerateRequest r;
  r.stop = std::move(stop);
  return std::make_shared<Generation>(r, std::chrono::seconds(10), flush);
}

std::vector<std::string> drain(Generation& g) {
  std::vector<std::string> out;
  std::string text;
  std::vector<size_t> ends;
  while (g.take(text, ends, std::chrono::milliseconds(0))) {
    size_t from = 0;
    for (size_t e : ends) out.push_back(text.substr(from, e - from)), from = e;
  }
  return out;
}

}  // namespace

TEST(ServeGeneration, StopStringIsNeverReleased) {
  auto g = make({"END", "\n\n"});
  EXPECT_FALSE(g->append("ab"));
  EXPECT_EQ(drain(*g), std::vector<std::string>{"ab"});
  EXPECT_FALSE(g->append("E"));
  EXPECT_FALSE(g->append("N"));
  EXPECT_TRUE(drain(*g).empty());  // "EN" could still become "END"
  EXPECT_TRUE(g->append("D!"));
  g->finish("stop");
  EXPECT_TRUE(drain(*g).empty());
  EXPECT_EQ(g->text(), "ab");
  EXPECT_EQ(g->finish_reason(), "stop");
  EXPECT_TRUE(g->finished());
}

TEST(ServeGeneration, HeldTextIsReleasedWhenItCannotStop) {
  auto g = make({"xy"});
  EXPECT_FALSE(g->append("ax"));
  EXPECT_EQ(drain(*g), std::vector<std::string>{"a"});
  EXPECT_FALSE(g->append("z"));
  EXPECT_EQ(drain(*g), std::vector<std::string>{"xz"});
  EXPECT_FALSE(g->append("x"));
  g->finish("length");  // the held "x" is part of the text after all
  EXPECT_EQ(drain(*g), std::vector<std::string>{"x"});
  EXPECT_EQ(g->text(), "axzx");
}

TEST(ServeGeneration, StopInsideOnePiece) {
  auto g = make({"b"});
  EXPECT_TRUE(g->append("aabba"));
  EXPECT_EQ(g->text(), "aa");
  auto h = make({});
  EXPECT_FALSE(h->append("b"));
  EXPECT_FALSE(h->finished());
  h->cancel();
  EXPECT_TRUE(h->cancelled());
  EXPECT_GE(h->first_token_seconds(), 0.0);
}

TEST(ServeGeneration, PiecesAreHandedOverAtMostOncePerFlush) {
  auto g = make({}, std::chrono::seconds(10));
  EXPECT_FALSE(g->append("a"));
  EXPECT_EQ(drain(*g), std::vector<std::string>{"a"});  // the first piece goes at once
  EXPECT_FALSE(g->append("b"));
  EXPECT_FALSE(g->append("c"));
  EXPECT_TRUE(drain(*g).empty());  // the next hand-over is 10 s away
  EXPECT_FALSE(g->finished());
  g->finish("length");
  EXPECT_EQ(drain(*g), (std::vector<std::string>{"b", "c"}));  // the end hands over everything
  EXPECT_TRUE(g->finished());
  EXPECT_EQ(g->text(), "abc");

  auto h = make({}, std::chrono::milliseconds(1));
  h->append("x");
  EXPECT_EQ(drain(*h), std::vector<std::string>{"x"});
  h->append("y");
  h->append("z");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(drain(*h), (std::vector<std::string>{"y", "z"}));  // 1 ms after the last hand-over
}

TEST(ServeGeneration, AWaitingTakeWakesAtTheEnd) {
  auto g = make({}, std::chrono::seconds(10));
  g->append("a");
  EXPECT_EQ(drain(*g), std::vector<std::string>{"a"});
  g->append("b");
  std::thread engine([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g->finish("length");
  });
  std::string text;
  std::vector<size_t> ends;
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(g->take(text, ends, std::chrono::seconds(20)));  // not the 10 s flush: finish wakes it
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(text, "b");
  EXPECT_EQ(ends, std::vector<size_t>{1});
  engine.join();
  EXPECT_TRUE(g->wait_done(std::chrono::milliseconds(0)));
}

// Tokens slower than a flush: the engine does not wake the HTTP side per piece (that cost the engine
// thread a wake-up per row per step); a tick that found nothing pending sleeps one more flush, so the
// piece goes at that next tick: at most a flush after it came, not at once.
TEST(ServeGeneration, APieceSlowerThanAFlushGoesAtTheNextTick) {
  const auto flush = std::chrono::milliseconds(1000);  // wide margins: a loaded machine's scheduler
  auto g = make({}, flush);
  g->append("a");
  std::string text;
  std::vector<size_t> ends;
  ASSERT_TRUE(g->take(text, ends, std::chrono::milliseconds(0)));  // the first piece goes at once
  const Clock::time_point t0 = Clock::now();  // just after the hand-over: ticks at ~t0 + 1 s, then ~t0 + 2 s
  std::thread engine([&] {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1300));  // after the first tick found nothing
    g->append("b");
  });
  EXPECT_TRUE(g->take(text, ends, std::chrono::seconds(8)));
  const Clock::duration waited = Clock::now() - t0;
  engine.join();
  EXPECT_EQ(text, "b");
  EXPECT_GE(waited, std::chrono::milliseconds(1700));  // not at 1.3 s, when it came: at the second tick
  EXPECT_LT(waited, std::chrono::seconds(6));
  g->finish("length");
  EXPECT_TRUE(g->wait_done(std::chrono::milliseconds(0)));
}

TEST(ServeGeneration, TokenEventIsWhatJsonDumpGives) {
  const std::string pieces[] = {"a", " ", "Ishmael", "\"", "\\", "\n", "\t", "\x01", "\x7f", "~",
                                "\xc3\xa9", "\xe2\x80\x94", "\xff", "a\xc3", "</script>", ""};
  for (const std::string& p : pieces) {
    const std::string text = "xx" + p + "yy";
    std::string out = "prefix";
    append_token_event(out, text, 2, 2 + p.size());
    const nlohmann::json j = {{"token", p}};
    EXPECT_EQ(out, "prefix" "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n")
        << "piece of " << p.size() << " bytes";
  }
}
