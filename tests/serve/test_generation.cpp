// serve/generation.h: stop strings end the text before them, and no piece of a stop string is
// ever released to the client; pieces arrive in order; held-back text is released at the end.
#include <gtest/gtest.h>

#include "serve/generation.h"

using namespace recurrent::serve;

namespace {

std::shared_ptr<Generation> make(std::vector<std::string> stop) {
  GenerateRequest r;
  r.stop = std::move(stop);
  return std::make_shared<Generation>(r, std::chrono::seconds(10));
}

std::vector<std::string> drain(Generation& g) {
  std::vector<std::string> out;
  std::string p;
  while (g.next_piece(p, std::chrono::milliseconds(0))) out.push_back(p);
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
