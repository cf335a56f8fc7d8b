// serve/generation.h — one generate request in flight, between the engine thread (which draws its
// tokens) and the HTTP thread (which sends them). The engine appends released text pieces and
// finally finishes it with a reason; the HTTP side takes pieces as they come, or cancels (client gone).
//
// Stop strings: text that could still be the start of a stop string is held back, so a client never
// sees any part of the stop string; the generated text ends just before it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "recurrent/nn/rnn.h"
#include "recurrent/tasks/lm.h"
#include "serve/request.h"

namespace recurrent::serve {

using Clock = std::chrono::steady_clock;

class Generation {
 public:
  Generation(GenerateRequest r, Clock::duration timeout)
      : req(std::move(r)), start(Clock::now()), deadline(start + timeout) {}

  const GenerateRequest req;
  const Clock::time_point start, deadline;

  // ---- engine side (the engine thread only) ----
  std::optional<tasks::TokenSampler> sampler;
  RNNState state;                                // an RNN model's state, [D, 1, R] per layer
  std::unique_ptr<tasks::LmStreams> streams;     // any other model: its own stream
  std::vector<double> cur;                       // log p(next token) [V]
  int64_t produced = 0;                          // tokens drawn
  // Appends a token's text; releases what no stop string can still claim. True: a stop string ended it.
  bool append(const std::string& piece);
  void finish(const std::string& reason, const std::string& error = "");  // wakes the HTTP side

  // ---- HTTP side ----
  // Waits up to `wait` for the next released piece: true with `piece` set, false when none came
  // (then finished() tells whether the generation is over).
  bool next_piece(std::string& piece, Clock::duration wait);
  bool finished() const;
  std::string finish_reason() const;  // length | stop | timeout | shutdown | error | cancelled
  std::string error() const;
  std::string text() const;           // the generated text released so far (all of it once finished)
  double first_token_seconds() const;  // < 0 before the first token
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> out_;
  std::string text_;      // everything generated (engine side; what was released: text_[0, sent_))
  size_t sent_ = 0;
  std::string released_;  // the released text (HTTP side reads)
  bool done_ = false;
  std::string reason_, error_;
  double ttft_ = -1;
  std::atomic<bool> cancelled_{false};
  void release(size_t upto);  // under mu_
};

}  // namespace recurrent::serve
