// Issue 26, acceptance 3 (slowloris): many clients that trickle a byte at a time must not starve the
// good ones. With 4 HTTP threads and a 10 s --read-timeout, 8 trickling clients take every thread;
// the watchdog (serve/watchdog.h) cuts a trickling request after 1 s once every thread is taken, so a
// good request sent after them is answered in seconds, not after the 10 s deadline; every slow client
// cut while every thread was taken gets its 408, and the server stays up.
#include <chrono>
#include <future>
#include <vector>

#include "serve_fixture.h"
#include "slow_client.h"

using namespace recurrent::testing;

TEST(ServeSlowClients, ManyTricklingClientsDoNotStarveAGoodOne) {
  using Clock = std::chrono::steady_clock;
  recurrent::serve::ServeOptions o = tiny_options();
  o.http_threads = 4;
  o.read_timeout = std::chrono::seconds(10);
  RunningServer s(o);
  std::vector<std::future<SlowReply>> slow;
  for (int i = 0; i < 8; ++i) {  // connected before the good one, in order; then each trickles on its own thread
    const int fd = slow_connect(s.port(), trickled_headers());
    ASSERT_GE(fd, 0);
    slow.push_back(std::async(std::launch::async, [fd] {
      return slow_trickle(fd, std::chrono::milliseconds(100), std::chrono::seconds(3));  // then it gives up
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // they hold every thread, and 4 wait for one
  const Clock::time_point t0 = Clock::now();
  auto c = s.client();
  const Reply ok = post(*c, "/v1/score", R"({"text": "Call me Ishmael."})");
  const double good_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(ok.status, 200) << ok.raw;
  // 8 slow clients over 4 threads: two rounds of the 1 s busy grace before the good one gets a thread.
  EXPECT_LT(good_seconds, 6.0) << "the good request waited " << good_seconds << " s";
  // Cut after 1 s while every thread is taken; one that got its thread once the others were gone has
  // its whole 10 s deadline (not waited for here: the clients give up after 3 s).
  int busy_cuts = 0;
  for (auto& f : slow) {
    const SlowReply r = f.get();
    if (!r.closed) continue;
    EXPECT_EQ(r.got.rfind("HTTP/1.1 408", 0), 0u) << r.got;
    busy_cuts += r.got.find("every HTTP thread is taken") != std::string::npos;
  }
  EXPECT_GE(busy_cuts, 4) << "the first round, at least, is cut for holding every thread";
  auto h = c->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  std::printf("good request: %.2f s behind 8 trickling clients on 4 HTTP threads\n", good_seconds);
}
