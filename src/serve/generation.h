// serve/generation.h — one generate request in flight, between the engine thread (which draws its
// tokens) and the HTTP thread (which sends them). The engine appends released text pieces and
// finally finishes it with a reason; the HTTP side takes pieces as they come, or cancels (client gone).
//
// Stop strings: text that could still be the start of a stop string is held back, so a client never
// sees any part of the stop string; the generated text ends just before it.
//
// Coalescing (`flush`): the HTTP side is handed the first released piece at once (time to first
// token), then what was released meanwhile at most once per `flush` (0: each piece as it comes), and
// everything at the end. After the first hand-over the HTTP thread sleeps on its own timer: a tick that
// finds nothing pending sleeps one more `flush`; the engine wakes it only for the first piece and at the
// end (and for every piece with flush 0). So a streamed client gets one write per `flush` instead of one
// per token, the engine thread makes no wake-up call per token however slow its steps are, and a token
// is sent at most `flush` (plus the scheduler's delay) after it was drawn.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "recurrent/nn/rnn.h"
#include "recurrent/tasks/lm.h"
#include "serve/request.h"

namespace recurrent::serve {

using Clock = std::chrono::steady_clock;

class Generation {
 public:
  Generation(GenerateRequest r, Clock::duration timeout, Clock::duration flush = Clock::duration::zero())
      : req(std::move(r)), start(Clock::now()), deadline(start + timeout), flush(flush) {}

  const GenerateRequest req;
  const Clock::time_point start, deadline;
  const Clock::duration flush;  // at most one hand-over per flush (0: each piece at once)

  // ---- engine side (the engine thread only) ----
  std::optional<tasks::TokenSampler> sampler;
  RNNState state;                                // an RNN model's state before it joins the batch, [D, 1, R] per layer
  std::unique_ptr<tasks::LmStreams> streams;     // any other model: its own stream
  std::vector<double> cur;                       // log p(next token) [V]
  int64_t produced = 0;                          // tokens drawn
  // Appends a token's text; releases what no stop string can still claim. True: a stop string ended it.
  // `now`: the caller's clock reading (one per engine step), for the hand-over rule.
  bool append(const std::string& piece, Clock::time_point now = Clock::now());
  void finish(const std::string& reason, const std::string& error = "");  // wakes the HTTP side

  // ---- HTTP side ----
  // Waits up to `wait` for a hand-over (see Coalescing above): true with the released pieces not yet
  // taken in `text` (concatenated) and `ends` (each piece's end offset in `text`); false when there
  // was none (then finished() tells whether the generation is over). The buffers are swapped with
  // the generation's own, so a caller that keeps them allocates nothing in the steady state.
  bool take(std::string& text, std::vector<size_t>& ends, Clock::duration wait);
  // Waits up to `wait` for the end (a caller that does not stream); true once finished by the engine.
  bool wait_done(Clock::duration wait);
  bool finished() const;  // finished by the engine, and every piece taken
  std::string finish_reason() const;  // length | stop | timeout | shutdown | error | cancelled
  std::string error() const;
  std::string text() const;           // the generated text released so far (all of it once finished)
  double first_token_seconds() const;  // < 0 before the first token
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;      // everything generated (engine side; what was released: text_[0, sent_))
  size_t sent_ = 0;
  std::string released_;  // the released text (HTTP side reads)
  std::string pending_;   // released, not yet taken: the pieces' text,
  std::vector<size_t> ends_;  //   and each piece's end in pending_
  Clock::time_point taken_at_;  // the last hand-over
  bool handed_ = false;         // a piece was taken (the first goes at once)
  bool waiting_ = false;        // the HTTP side is blocked in take() waiting for the engine
  bool done_ = false;
  std::string reason_, error_;
  double ttft_ = -1;
  std::atomic<bool> cancelled_{false};
  void release(size_t upto, Clock::time_point now);  // under mu_
};

// Appends the server-sent event of one streamed token, `data: {"token":"PIECE"}` and a blank line,
// byte for byte what nlohmann::json's dump (invalid UTF-8 replaced) gives, without building a JSON
// value for the common piece (printable ASCII).
void append_token_event(std::string& out, const std::string& text, size_t from, size_t to);

}  // namespace recurrent::serve
