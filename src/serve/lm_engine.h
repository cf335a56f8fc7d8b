// serve/lm_engine.h — one language model behind the server: a single engine thread owns the model
// and does all its work, so nothing is shared between threads but queues.
//
// Continuous batching: every generation admitted is first primed alone (its prime fed as one
// sequence, B = 1, exactly as `recurrent sample` does; an RNN model keeps the last prime's state and
// log-probs, so generations with the same prime — the empty one, a shared prompt — reuse them
// instead of feeding it again), then joins the batch; each engine step draws
// one token for every row (each generation's own sampler and seed: tasks::TokenSampler) and feeds all
// rows' tokens as ONE recurrent step [1, B] through the model, whose packed-weight cache all rows
// share. Rows leave the batch when done (length, stop string, timeout, client gone) and new ones join
// between steps. An RNN model's rows carry their own state [D, 1, R], gathered into [D, B, R] for the
// step; the batch's state [D, B, R] stays put between steps and is rebuilt only when rows leave or
// join (a row's own state [D, 1, R] is what it joins with); any other LM (transformer) steps its rows'
// own streams one after another.
//
// Scores: every score request waiting when the engine looks is run with the others in ONE pass of the
// model over ids [T, B] (tasks/lm_score.h; padded T·B at most 65536 tokens a pass, more make another),
// equal to `recurrent score` up to the batched products' rounding (exactly, for a request alone).
//
// Sessions: a session is a stream whose state (an RNN's h/c) lives in the engine between calls; each
// call feeds the next piece of text and scores it given everything fed before. A generation may start
// from a session (GenerateRequest::session): it takes a copy of the state (an RNN's h/c; any other
// model re-feeds the session's tokens) and joins the batch; the session does not move. Capped in
// number, closed after an idle timeout.
//
// Limits: at most max_batch generations in the batch, at most max_queue requests waiting beyond it;
// try_* calls refuse (nullptr / false) past that, which the HTTP layer answers with 429.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "recurrent/tasks/lm.h"
#include "serve/generation.h"
#include "serve/metrics.h"

namespace recurrent::serve {

struct EngineLimits {
  int64_t max_batch = 64;                             // generations stepped together
  int64_t max_queue = 64;                             // requests waiting beyond the batch
  Clock::duration timeout = std::chrono::seconds(60);  // per request
  int64_t max_sessions = 64;
  Clock::duration session_idle = std::chrono::seconds(300);
  Clock::duration flush = std::chrono::milliseconds(10);  // a stream's tokens are coalesced this long (Generation)
};

struct SessionScore {  // one piece of a session's text
  tasks::TextScore piece;   // log P(piece | everything before) and its tokens
  double total_log_prob = 0; // of everything fed so far
  int64_t total_tokens = 0;
};

class LmEngine {
 public:
  LmEngine(std::string name, std::unique_ptr<tasks::LmModel> model, EngineLimits limits, ModelMetrics& metrics);
  ~LmEngine();  // shutdown(0) and join
  LmEngine(const LmEngine&) = delete;
  LmEngine& operator=(const LmEngine&) = delete;

  const std::string& name() const { return name_; }
  tasks::LmModel& model() { return *model_; }  // for descriptions only; the engine thread runs it

  // nullptr when the queue is full or the engine shuts down (then accepting() is false).
  std::shared_ptr<Generation> try_generate(const GenerateRequest& r);
  // Runs fn on the engine thread; an invalid future when the queue is full. Exceptions travel in it.
  template <class F>
  auto try_run(F fn) -> std::future<decltype(fn(std::declval<tasks::LmModel&>()))> {
    using R = decltype(fn(std::declval<tasks::LmModel&>()));
    auto task = std::make_shared<std::packaged_task<R()>>([this, fn] { return fn(*model_); });
    if (!enqueue([task] { (*task)(); })) return {};
    return task->get_future();
  }
  std::future<tasks::TextScore> try_score(const std::string& text);
  // Sessions: open → id ("" when full: at most max_sessions), feed, close (false: no such session).
  std::future<std::string> try_open_session();
  std::future<SessionScore> try_feed_session(const std::string& id, const std::string& text);
  bool close_session(const std::string& id);

  bool accepting() const;
  bool idle() const;  // nothing queued, nothing in the batch
  // Stops admitting; generations running go on until `grace` has passed, then finish "shutdown";
  // queued work that has not started fails. Returns at once; the destructor joins.
  void shutdown(Clock::duration grace);

 private:
  struct Session;
  struct ScoreJob;
  void loop();
  void run_scores(const std::vector<std::shared_ptr<ScoreJob>>& jobs);  // batched, on the engine thread
  bool enqueue(std::function<void()> job);
  void admit(const std::shared_ptr<Generation>& g);  // prime it (B = 1) and draw nothing yet
  void step();                                        // one token for every row of the batch
  // The RNN batch's state for the rows `kept` of batch_ (indices, in order): rows < state_rows_ from
  // batch_state_, later ones (joined since) from their own state.
  RNNState batch_state_for(const std::vector<size_t>& kept) const;
  void close_idle_sessions();
  // Feeds ids to a session's model state → their log-prob rows [T][V] (the engine thread).
  std::vector<std::vector<double>> feed_session(Session& s, const std::vector<int64_t>& ids);
  // A generation from a session (g.req.session): the session's state copied into g (Error if none).
  void start_from_session(Generation& g);

  std::string name_;
  std::unique_ptr<tasks::LmModel> model_;
  tasks::LanguageModel* rnn_ = nullptr;  // the batched path when the model is an RNN LM
  EngineLimits lim_;
  ModelMetrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::deque<std::shared_ptr<Generation>> waiting_;
  std::deque<std::shared_ptr<ScoreJob>> scores_;
  std::vector<std::shared_ptr<Generation>> batch_;  // changed by the engine thread under mu_
  struct Prime {  // an RNN model's last prime fed (B = 1): its ids, state [D, 1, R] and log p(next) [V]
    std::vector<int64_t> ids;
    RNNState state;
    std::vector<double> cur;
  } prime_;  // (the engine thread only)
  RNNState batch_state_;   // an RNN model's state of batch_[0, state_rows_) after the last step, [D, B, R]
  size_t state_rows_ = 0;  // (the engine thread only)
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // under mu_ (the streams: engine thread)
  bool stopping_ = false;
  Clock::time_point stop_at_;
  std::thread thread_;
};

}  // namespace recurrent::serve
