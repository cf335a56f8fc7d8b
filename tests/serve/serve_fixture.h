// What the server tests share: a tiny char LM trained once per test binary (through the CLI, a
// second on one thread), an in-process server on 127.0.0.1 and a free port, and small HTTP helpers.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "recurrent/core/threads.h"
#include "run_cli.h"
#include "serve/server.h"

namespace recurrent::testing {

inline const std::string& tiny_lm() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / ("recurrent-serve-lm-" + std::to_string(::getpid()));
    fs::remove_all(d);
    const std::string data = std::string(RECURRENT_TEST_DATA) + "/lm/moby_train.txt";
    const CmdResult r = run("train lm --data " + data + " --level char --hidden 24 --layers 2 --embed 16 --seq-len 20 "
                            "--batch 8 --max-steps 6 --quiet --threads 1 --out " + d.string());
    EXPECT_EQ(r.status, 0) << r.out;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::temp_directory_path() / ("recurrent-serve-lm-" + std::to_string(::getpid())), ec);
    });
    return d.string();
  }();
  return dir;
}

inline serve::ServeOptions tiny_options() {
  serve::ServeOptions o;
  o.models = {{"tiny", tiny_lm()}};
  o.host = "127.0.0.1";
  o.port = 0;
  o.engine.max_batch = 8, o.engine.max_queue = 8;
  o.read_timeout = std::chrono::milliseconds(1000);
  o.grace = std::chrono::milliseconds(500);
  return o;
}

// A server on its own thread for the scope of a test.
class RunningServer {
 public:
  explicit RunningServer(serve::ServeOptions o) {
    set_num_threads(1);  // the same results as the CLI runs with --threads 1
    s_ = std::make_unique<serve::Server>(std::move(o));
    port_ = s_->bind();
    t_ = std::thread([this] { s_->run(); });
  }
  ~RunningServer() {
    s_->stop();
    t_.join();
  }
  int port() const { return port_; }
  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(20, 0);
    c->set_connection_timeout(5, 0);
    return c;
  }

 private:
  std::unique_ptr<serve::Server> s_;
  std::thread t_;
  int port_ = 0;
};

struct Reply {
  int status = -1;  // -1: no response
  nlohmann::json body;
  std::string raw;
  std::string retry_after;
};

inline Reply post(httplib::Client& c, const std::string& path, const std::string& body,
                  const httplib::Headers& headers = {}) {
  Reply r;
  auto res = c.Post(path.c_str(), headers, body, "application/json");
  if (!res) return r;
  r.status = res->status, r.raw = res->body;
  r.retry_after = res->get_header_value("Retry-After");
  r.body = nlohmann::json::parse(res->body, nullptr, false);
  return r;
}

}  // namespace recurrent::testing
