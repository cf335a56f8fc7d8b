// A generate request between the engine and the HTTP thread (contract in serve/generation.h).
#include "serve/generation.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace recurrent::serve {

void Generation::release(size_t upto, Clock::time_point now) {
  if (upto <= sent_) return;
  released_.append(text_, sent_, upto - sent_);
  pending_.append(text_, sent_, upto - sent_);
  ends_.push_back(pending_.size());
  sent_ = upto;
  if (ttft_ < 0) ttft_ = std::chrono::duration<double>(now - start).count();
}

bool Generation::append(const std::string& piece, Clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  if (ttft_ < 0) ttft_ = std::chrono::duration<double>(now - start).count();
  text_ += piece;
  size_t longest = 0;
  for (const std::string& s : req.stop) longest = std::max(longest, s.size());
  // A stop string can only newly appear in the part of text_ not yet released plus its own length.
  const size_t from = sent_ >= longest ? sent_ - longest + 1 : 0;
  size_t stop_at = std::string::npos;
  for (const std::string& s : req.stop) stop_at = std::min(stop_at, text_.find(s, from));
  if (stop_at != std::string::npos) {
    text_.resize(stop_at);
    release(stop_at, now);
    return true;  // finish() follows and wakes the HTTP side
  }
  // Hold back the longest tail of text_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& s : req.stop)
    for (size_t k = std::min(s.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  release(text_.size() - hold, now);
  if (waiting_) cv_.notify_one();  // only when the HTTP side waits for the engine (the first piece, or flush 0)
  return false;
}

void Generation::finish(const std::string& reason, const std::string& error) {
  std::lock_guard<std::mutex> l(mu_);
  if (done_) return;
  if (reason == "length") release(text_.size(), Clock::now());  // held-back text that never became a stop string
  done_ = true, reason_ = reason, error_ = error;
  cv_.notify_all();
}

bool Generation::take(std::string& text, std::vector<size_t>& ends, Clock::duration wait) {
  std::unique_lock<std::mutex> l(mu_);
  const Clock::time_point limit = Clock::now() + wait;
  const bool paced = handed_ && flush > Clock::duration::zero();
  Clock::time_point next = paced ? taken_at_ + flush : Clock::time_point::min();  // the next hand-over
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (done_ || (!ends_.empty() && now >= next) || now >= limit) break;
    // Paced (after the first hand-over): the HTTP side sleeps on its own timer, and a tick that finds
    // nothing pending sets the next one a flush later, so the engine never wakes it per token (it did
    // when tokens came slower than a flush: a wake-up per row per step on the engine thread, the one
    // that limits the throughput). Not paced: it waits for the engine's next piece.
    if (paced && now >= next) next = now + flush;
    const bool timer = now < next;
    waiting_ = !timer;
    cv_.wait_until(l, timer ? std::min(limit, next) : limit);
    waiting_ = false;
  }
  const Clock::time_point now = Clock::now();
  if (ends_.empty() || (!done_ && now < next)) return false;  // `wait` passed first
  text.clear(), ends.clear();
  text.swap(pending_), ends.swap(ends_);
  handed_ = true, taken_at_ = now;
  return true;
}

bool Generation::wait_done(Clock::duration wait) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, wait, [&] { return done_; });
}

bool Generation::finished() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_ && ends_.empty();
}
std::string Generation::finish_reason() const {
  std::lock_guard<std::mutex> l(mu_);
  return reason_;
}
std::string Generation::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}
std::string Generation::text() const {
  std::lock_guard<std::mutex> l(mu_);
  return released_;
}
double Generation::first_token_seconds() const {
  std::lock_guard<std::mutex> l(mu_);
  return ttft_;
}

void append_token_event(std::string& out, const std::string& text, size_t from, size_t to) {
  bool plain = true;  // printable ASCII but '"' and '\\': the JSON string is the bytes themselves
  for (size_t i = from; i < to && plain; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  }
  if (plain) {
    out += "data: {\"token\":\"";
    out.append(text, from, to - from);
    out += "\"}\n\n";
    return;
  }
  const nlohmann::json j = {{"token", text.substr(from, to - from)}};
  out += "data: ";
  out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "\n\n";
}

}  // namespace recurrent::serve
