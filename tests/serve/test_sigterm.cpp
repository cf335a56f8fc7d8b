// Issue 26, acceptance 4: `recurrent serve` (the binary) under load gets SIGTERM: it exits within
// 5 s with status 0, every client gets its answer or its stream's end (none hangs), and the model
// file is untouched (same bytes, same modification time).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

#include "serve_fixture.h"

extern char** environ;

using namespace recurrent::testing;
namespace fs = std::filesystem;

namespace {

std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Starts `recurrent serve ARGS --port 0` with its stdout on a pipe; returns the pid and the port it printed.
pid_t start_server(const std::string& args, int& port, FILE*& out) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  const std::string cmd = "exec " + std::string(RECURRENT_BIN) + " serve " + args + " --port 0";
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  out = ::fdopen(fds[0], "r");
  char line[256] = {0};
  port = -1;
  if (std::fgets(line, sizeof line, out)) {  // "listening on http://127.0.0.1:PORT"
    const std::string l(line);
    const size_t colon = l.rfind(':');
    if (l.rfind("listening on", 0) == 0 && colon != std::string::npos) port = std::stoi(l.substr(colon + 1));
  }
  return pid;
}

}  // namespace

TEST(ServeSigterm, ExitsWithinFiveSecondsAndNoRequestHangs) {
  const fs::path model = fs::path(tiny_lm()) / "best.safetensors";
  const fs::path file = fs::exists(model) ? model : fs::path(tiny_lm()) / "last.safetensors";
  const std::string before = file_bytes(file);
  const auto mtime = fs::last_write_time(file);
  int port = -1;
  FILE* out = nullptr;
  const pid_t pid = start_server("--model " + tiny_lm() + " --threads 1 --grace 1s", port, out);
  ASSERT_GT(port, 0);
  // Load: 6 streamed generations long enough to outlast the signal, and 2 clients scoring in a loop.
  std::atomic<int> streamed_tokens{0};
  std::vector<std::future<bool>> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(std::async(std::launch::async, [port, i, &streamed_tokens] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10, 0);
      if (i < 6) {
        httplib::Request req;
        req.method = "POST", req.path = "/v1/generate";
        req.body = R"({"length": 2048, "stream": true, "seed": )" + std::to_string(i) + "}";
        req.set_header("Content-Type", "application/json");
        req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++streamed_tokens, true; };
        c.send(req);  // ends with the stream (finish_reason "shutdown") or the connection closing
        return true;
      }
      for (int k = 0; k < 2000; ++k)  // ≤ 2000 requests; stops at the first refusal or closed connection
        if (auto r = c.Post("/v1/score", R"({"text": "Call me Ishmael."})", "application/json"); !r || r->status != 200)
          break;
      return true;
    }));
  for (int i = 0; i < 100 && streamed_tokens < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GE(streamed_tokens.load(), 50);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = -1;
  pid_t done = 0;
  for (int i = 0; i < 200 && done == 0; ++i) {  // ≤ 10 s
    done = ::waitpid(pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_NE(done, 0) << "still running 10 s after SIGTERM";
  EXPECT_LT(seconds, 5.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  for (auto& f : clients) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "a client hangs";
    EXPECT_TRUE(f.get());
  }
  char line[256];
  std::string rest;
  while (std::fgets(line, sizeof line, out)) rest += line;
  std::fclose(out);
  EXPECT_EQ(rest, "stopped\n");
  EXPECT_EQ(fs::last_write_time(file), mtime);
  EXPECT_TRUE(file_bytes(file) == before) << "the model file changed";
}
