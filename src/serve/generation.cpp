// A generate request between the engine and the HTTP thread (contract in serve/generation.h).
#include "serve/generation.h"

#include <algorithm>

namespace recurrent::serve {

void Generation::release(size_t upto) {
  if (upto <= sent_) return;
  std::string piece = text_.substr(sent_, upto - sent_);
  released_ += piece;
  out_.push_back(std::move(piece));
  sent_ = upto;
  if (ttft_ < 0) ttft_ = std::chrono::duration<double>(Clock::now() - start).count();
}

bool Generation::append(const std::string& piece) {
  std::lock_guard<std::mutex> l(mu_);
  if (ttft_ < 0) ttft_ = std::chrono::duration<double>(Clock::now() - start).count();
  text_ += piece;
  size_t longest = 0;
  for (const std::string& s : req.stop) longest = std::max(longest, s.size());
  // A stop string can only newly appear in the part of text_ not yet released plus its own length.
  const size_t from = sent_ >= longest ? sent_ - longest + 1 : 0;
  size_t stop_at = std::string::npos;
  for (const std::string& s : req.stop) stop_at = std::min(stop_at, text_.find(s, from));
  if (stop_at != std::string::npos) {
    text_.resize(stop_at);
    release(stop_at);
    cv_.notify_all();
    return true;
  }
  // Hold back the longest tail of text_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& s : req.stop)
    for (size_t k = std::min(s.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  release(text_.size() - hold);
  cv_.notify_all();
  return false;
}

void Generation::finish(const std::string& reason, const std::string& error) {
  std::lock_guard<std::mutex> l(mu_);
  if (done_) return;
  if (reason == "length") release(text_.size());  // held-back text that never became a stop string
  done_ = true, reason_ = reason, error_ = error;
  cv_.notify_all();
}

bool Generation::next_piece(std::string& piece, Clock::duration wait) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, wait, [&] { return !out_.empty() || done_; });
  if (out_.empty()) return false;
  piece = std::move(out_.front());
  out_.pop_front();
  return true;
}

bool Generation::finished() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_ && out_.empty();
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

}  // namespace recurrent::serve
