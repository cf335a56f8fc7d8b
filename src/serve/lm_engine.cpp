// The engine thread of one language model: continuous batching and sessions (contract in
// serve/lm_engine.h).
#include "serve/lm_engine.h"

#include <random>

#include "recurrent/autograd/ops.h"
#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/lm_score.h"
#include "serve/worker.h"

namespace recurrent::serve {

struct LmEngine::ScoreJob {
  std::string text;
  std::promise<tasks::TextScore> done;
};

struct LmEngine::Session {
  RNNState state;                            // an RNN model's state after everything fed, [D, 1, R] per layer
  std::unique_ptr<tasks::LmStreams> streams;  // any other model: its stream,
  std::vector<int64_t> ids;                   //   and every id fed to it (a generation re-feeds them)
  std::vector<double> cur;  // log p(next token) [V]
  double log_prob = 0;
  int64_t tokens = 0;
  Clock::time_point last_used;
};

namespace {

// Rows of several states [D, B_i, R] → one [D, B, R]: row b is rows[b].first's row rows[b].second
// (an undefined Var stays undefined).
Var gather_rows(const std::vector<std::pair<const Var*, int64_t>>& rows) {
  if (!rows[0].first->defined()) return Var();
  const Tensor& t0 = rows[0].first->value();
  const int64_t D = t0.size(0), R = t0.size(2), B = static_cast<int64_t>(rows.size());
  Tensor out({D, B, R});
  for (int64_t b = 0; b < B; ++b) {
    const Tensor src = rows[b].first->value().contiguous();
    const int64_t Bs = src.size(1), r = rows[b].second;
    for (int64_t d = 0; d < D; ++d) std::copy_n(src.data() + (d * Bs + r) * R, R, out.data() + (d * B + b) * R);
  }
  return Var(out);
}

// The tokens of a piece as shown to the client (as tasks::score_text shows them).
std::vector<std::string> shown_tokens(const data::Vocab& v, const std::u32string& text) {
  if (v.level() == data::TokenLevel::words) return data::split_words(text, v.lower());
  std::vector<std::string> out;
  for (char32_t c : text) out.push_back(data::utf8_encode(std::u32string(1, c)));
  return out;
}

}  // namespace

LmEngine::LmEngine(std::string name, std::unique_ptr<tasks::LmModel> model, EngineLimits limits, ModelMetrics& metrics)
    : name_(std::move(name)), model_(std::move(model)), lim_(limits), metrics_(metrics) {
  model_->eval();
  rnn_ = dynamic_cast<tasks::LanguageModel*>(model_.get());
  thread_ = std::thread([this, n = num_threads()] {
    adopt_num_threads(n);  // --threads: OpenMP's count is per thread (the model's oneDNN and row-parallel calls)
    loop();
  });
}

LmEngine::~LmEngine() {
  shutdown(Clock::duration::zero());
  if (thread_.joinable()) thread_.join();
}

bool LmEngine::accepting() const {
  std::lock_guard<std::mutex> l(mu_);
  return !stopping_;
}

bool LmEngine::idle() const {
  std::lock_guard<std::mutex> l(mu_);
  return jobs_.empty() && waiting_.empty() && batch_.empty() && scores_.empty();
}

void LmEngine::shutdown(Clock::duration grace) {
  {
    std::lock_guard<std::mutex> l(mu_);
    const Clock::time_point at = Clock::now() + grace;
    if (!stopping_ || at < stop_at_) stop_at_ = at;
    stopping_ = true;
  }
  cv_.notify_all();
}

bool LmEngine::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t queued = static_cast<int64_t>(jobs_.size() + waiting_.size() + scores_.size());
    if (stopping_ || queued >= lim_.max_queue) return false;
    jobs_.push_back(std::move(job));
    metrics_.queue_depth = queued + 1;
  }
  cv_.notify_all();
  return true;
}

std::shared_ptr<Generation> LmEngine::try_generate(const GenerateRequest& r) {
  auto g = std::make_shared<Generation>(r, lim_.timeout, lim_.flush);
  {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t free_rows = lim_.max_batch - static_cast<int64_t>(batch_.size());
    const int64_t queued = static_cast<int64_t>(jobs_.size() + waiting_.size() + scores_.size());
    if (stopping_ || queued >= lim_.max_queue + std::max<int64_t>(free_rows, 0)) return nullptr;
    waiting_.push_back(g);
    metrics_.queue_depth = queued + 1;
  }
  cv_.notify_all();
  return g;
}

std::future<tasks::TextScore> LmEngine::try_score(const std::string& text) {
  auto j = std::make_shared<ScoreJob>();
  j->text = text;
  std::future<tasks::TextScore> f = j->done.get_future();
  {
    std::lock_guard<std::mutex> l(mu_);
    const int64_t queued = static_cast<int64_t>(jobs_.size() + waiting_.size() + scores_.size());
    if (stopping_ || queued >= lim_.max_queue + lim_.max_batch) return {};  // scores batch as generations do
    scores_.push_back(std::move(j));
    metrics_.queue_depth = queued + 1;
  }
  cv_.notify_all();
  return f;
}

void LmEngine::run_scores(const std::vector<std::shared_ptr<ScoreJob>>& jobs) {
  constexpr size_t kBudget = size_t{1} << 16;  // padded tokens T·B of one pass
  std::vector<ScoreJob*> group;
  std::vector<tasks::ScoreInput> inputs;
  size_t T = 0;
  auto flush = [&] {
    if (group.empty()) return;
    metrics_.score_batch(static_cast<int64_t>(group.size()));  // counted before any client has its answer
    try {
      std::vector<tasks::TextScore> s = tasks::score_texts(*model_, inputs);
      for (size_t i = 0; i < group.size(); ++i) group[i]->done.set_value(std::move(s[i]));
    } catch (...) {
      for (ScoreJob* j : group) j->done.set_exception(std::current_exception());
    }
    group.clear(), inputs.clear(), T = 0;
  };
  for (const auto& j : jobs) {
    tasks::ScoreInput in;
    try {
      in = tasks::score_input(model_->vocab(), j->text);
    } catch (...) {
      j->done.set_exception(std::current_exception());
      continue;
    }
    const size_t n = in.ids.size() - 1;  // steps
    if (!group.empty() && std::max(T, n) * (group.size() + 1) > kBudget) flush();
    T = std::max(T, n);
    group.push_back(j.get());
    inputs.push_back(std::move(in));
  }
  flush();
}

std::future<std::string> LmEngine::try_open_session() {
  return try_run([this](tasks::LmModel& m) -> std::string {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (static_cast<int64_t>(sessions_.size()) >= lim_.max_sessions) return "";
    }
    auto s = std::make_shared<Session>();
    if (!rnn_) s->streams = m.streams();
    const std::vector<int64_t> start = tasks::sample_prime_ids(m.vocab(), "", "session");  // the start token
    s->cur = feed_session(*s, start).back();
    s->last_used = Clock::now();
    std::string id = random_id();
    std::lock_guard<std::mutex> l(mu_);
    sessions_[id] = s;
    metrics_.sessions = static_cast<int64_t>(sessions_.size());
    return id;
  });
}

std::future<SessionScore> LmEngine::try_feed_session(const std::string& id, const std::string& text) {
  return try_run([this, id, text](tasks::LmModel& m) {
    std::shared_ptr<Session> s;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = sessions_.find(id);
      RC_CHECK(it != sessions_.end(), "session", "no open session ", id, " (closed, expired or never opened)");
      s = it->second;
    }
    const std::u32string u = data::utf8_decode(text, "text");
    const std::vector<int64_t> ids = m.vocab().encode_line(u);
    const std::vector<std::string> shown = shown_tokens(m.vocab(), u);
    RC_CHECK(!ids.empty(), "text", "no tokens in this piece");
    const std::vector<std::vector<double>> rows = feed_session(*s, ids);  // [T][V]
    SessionScore r;
    for (size_t t = 0; t < ids.size(); ++t) {
      const double l = t == 0 ? s->cur[ids[0]] : rows[t - 1][ids[t]];
      r.piece.log_prob += l;
      r.piece.tokens.push_back({t < shown.size() ? shown[t] : m.vocab().render(ids[t]), std::exp(l),
                                ids[t] == data::Vocab::kUnk});
    }
    s->cur = rows.back();
    s->log_prob += r.piece.log_prob, s->tokens += static_cast<int64_t>(ids.size());
    s->last_used = Clock::now();
    r.total_log_prob = s->log_prob, r.total_tokens = s->tokens;
    return r;
  });
}

std::vector<std::vector<double>> LmEngine::feed_session(Session& s, const std::vector<int64_t>& ids) {
  NoGradGuard ng;
  const int64_t T = static_cast<int64_t>(ids.size());
  if (rnn_) return tasks::log_prob_rows(rnn_->forward(ids, T, 1, s.state).value());
  s.ids.insert(s.ids.end(), ids.begin(), ids.end());
  return tasks::log_prob_rows(s.streams->feed(ids, T, 1));
}

void LmEngine::start_from_session(Generation& g) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sessions_.find(g.req.session);
    RC_CHECK(it != sessions_.end(), "session", "no open session ", g.req.session, " (closed, expired or never opened)");
    s = it->second;
  }
  s->last_used = Clock::now();
  g.cur = s->cur;
  if (rnn_) {  // a copy of the session's state: the session itself does not move
    for (const Var& h : s->state.h) g.state.h.push_back(h.defined() ? Var(h.value().clone()) : Var());
    for (const Var& c : s->state.c) g.state.c.push_back(c.defined() ? Var(c.value().clone()) : Var());
  } else {  // a fresh stream fed everything the session was fed
    g.streams = model_->streams();
    g.cur = tasks::log_prob_rows(g.streams->feed(s->ids, static_cast<int64_t>(s->ids.size()), 1)).back();
  }
}

bool LmEngine::close_session(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  const bool found = sessions_.erase(id) > 0;  // its streams die here; the engine holds no reference
  metrics_.sessions = static_cast<int64_t>(sessions_.size());
  return found;
}

void LmEngine::close_idle_sessions() {
  std::lock_guard<std::mutex> l(mu_);
  const Clock::time_point now = Clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = now - it->second->last_used > lim_.session_idle ? sessions_.erase(it) : std::next(it);
  metrics_.sessions = static_cast<int64_t>(sessions_.size());
}

void LmEngine::admit(const std::shared_ptr<Generation>& g) {
  NoGradGuard ng;
  const tasks::SampleOptions& o = g->req.sample;
  if (o.beam > 0) {  // deterministic search, run whole (it is not batched); the prime is not repeated
    bool first = true, stopped = false;
    tasks::sample_lm(*model_, o, [&](const std::string& s) {
      if (!first && !stopped) stopped = g->append(s), ++metrics_.tokens;
      first = false;
    });
    g->finish(stopped ? "stop" : "length");
    return;
  }
  g->sampler.emplace(o);
  if (!g->req.session.empty()) {
    start_from_session(*g);
    std::lock_guard<std::mutex> l(mu_);
    batch_.push_back(g);
    return;
  }
  const std::vector<int64_t> ids = tasks::sample_prime_ids(model_->vocab(), o.prime, "prime");
  const int64_t T = static_cast<int64_t>(ids.size());
  if (rnn_) {
    if (ids != prime_.ids) {  // the last prime's state and log-probs are reused as they are (exact)
      RNNState st;
      prime_.cur = tasks::log_prob_rows(rnn_->forward(ids, T, 1, st).value()).back();
      prime_.ids = ids, prime_.state = std::move(st);
    }
    g->cur = prime_.cur;
    for (const Var& h : prime_.state.h) g->state.h.push_back(h.defined() ? Var(h.value().clone()) : Var());
    for (const Var& c : prime_.state.c) g->state.c.push_back(c.defined() ? Var(c.value().clone()) : Var());
  } else {
    g->streams = model_->streams();
    g->cur = tasks::log_prob_rows(g->streams->feed(ids, T, 1)).back();
  }
  std::lock_guard<std::mutex> l(mu_);
  batch_.push_back(g);
}

void LmEngine::step() {
  NoGradGuard ng;
  const Clock::time_point now = Clock::now();
  bool out_of_time;
  {
    std::lock_guard<std::mutex> l(mu_);
    out_of_time = stopping_ && now >= stop_at_;
  }
  std::vector<size_t> kept;  // the rows of batch_ that go on, in order
  std::vector<std::pair<std::shared_ptr<Generation>, const char*>> done;  // finished after the batch shrinks
  std::vector<int64_t> ids;  // the kept rows' tokens
  int64_t drawn = 0;
  for (size_t i = 0; i < batch_.size(); ++i) {
    Generation& g = *batch_[i];
    const char* why = g.cancelled() ? "cancelled" : out_of_time ? "shutdown" : now > g.deadline ? "timeout"
                      : g.produced >= g.req.sample.length ? "length" : nullptr;
    if (!why) {
      const int64_t id = g.sampler->next(g.cur);
      ++g.produced, ++drawn;
      if (g.append(model_->vocab().render(id), now)) why = "stop";
      else if (g.produced >= g.req.sample.length) why = "length";
      else kept.push_back(i), ids.push_back(id);
    }
    if (why) done.push_back({batch_[i], why});
  }
  metrics_.tokens += drawn;
  RNNState st;  // the kept rows' state [D, B, R]: the last step's as it is when no row left or joined
  if (rnn_ && !kept.empty())
    st = kept.size() == state_rows_ && kept.size() == batch_.size() ? std::move(batch_state_) : batch_state_for(kept);
  state_rows_ = 0;  // until a step has run on st
  {
    std::vector<std::shared_ptr<Generation>> keep;
    keep.reserve(kept.size());
    for (size_t i : kept) keep.push_back(batch_[i]);
    std::lock_guard<std::mutex> l(mu_);
    batch_.swap(keep);
  }
  metrics_.active = static_cast<int64_t>(batch_.size());  // before a finished client can look
  if (batch_.empty()) metrics_.batch_size = 0;
  // A client that sees its generation end may send the next request at once: its row is free by then.
  for (auto& [g, why] : done) g->finish(why);
  if (batch_.empty()) return;
  const int64_t B = static_cast<int64_t>(batch_.size());
  metrics_.batch_step(B);
  if (!rnn_) {
    for (int64_t b = 0; b < B; ++b) batch_[b]->cur = tasks::log_prob_rows(batch_[b]->streams->feed({ids[b]}, 1, 1))[0];
    return;
  }
  // One recurrent step for every row: ids [1, B] → logits [1, B, V]; st [D, B, R] per layer.
  const Tensor lp = log_softmax(rnn_->forward(ids, 1, B, st)).value().contiguous();  // [1, B, V]
  batch_state_ = std::move(st), state_rows_ = batch_.size();
  const int64_t V = lp.size(2);
  for (int64_t b = 0; b < B; ++b) batch_[b]->cur.assign(lp.data() + b * V, lp.data() + (b + 1) * V);  // as log_prob_rows
}

RNNState LmEngine::batch_state_for(const std::vector<size_t>& kept) const {
  auto source = [&](size_t i, bool c, size_t l) -> std::pair<const Var*, int64_t> {
    if (i < state_rows_) return {&(c ? batch_state_.c : batch_state_.h)[l], static_cast<int64_t>(i)};
    return {&(c ? batch_[i]->state.c : batch_[i]->state.h)[l], 0};
  };
  RNNState st;
  const size_t L = state_rows_ ? batch_state_.h.size() : batch_[kept[0]]->state.h.size();
  const size_t Lc = state_rows_ ? batch_state_.c.size() : batch_[kept[0]]->state.c.size();
  for (size_t l = 0; l < L + Lc; ++l) {
    const bool c = l >= L;
    std::vector<std::pair<const Var*, int64_t>> rows;
    for (size_t i : kept) rows.push_back(source(i, c, c ? l - L : l));
    (c ? st.c : st.h).push_back(gather_rows(rows));
  }
  return st;
}

void LmEngine::loop() {
  Clock::time_point swept = Clock::now();
  for (;;) {
    std::deque<std::function<void()>> jobs;
    std::vector<std::shared_ptr<Generation>> joining;
    std::vector<std::shared_ptr<ScoreJob>> scoring;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(1), [&] {
        return stopping_ || !jobs_.empty() || !waiting_.empty() || !batch_.empty() || !scores_.empty();
      });
      jobs.swap(jobs_);
      scoring.assign(scores_.begin(), scores_.end());  // admitted: run even when stopping, as jobs are
      scores_.clear();
      while (!waiting_.empty() && static_cast<int64_t>(batch_.size() + joining.size()) < lim_.max_batch) {
        joining.push_back(waiting_.front());
        waiting_.pop_front();
      }
      if (stopping_) {  // nothing new starts; what waits is refused
        for (auto& g : waiting_) g->finish("shutdown", "the server is shutting down");
        for (auto& g : joining) g->finish("shutdown", "the server is shutting down");
        waiting_.clear(), joining.clear();
        if (jobs.empty() && batch_.empty() && scoring.empty()) {
          sessions_.clear();
          return;
        }
      }
      metrics_.queue_depth = static_cast<int64_t>(waiting_.size());
    }
    for (auto& job : jobs) job();  // packaged tasks: their exceptions go to their futures
    if (!scoring.empty()) run_scores(scoring);
    for (auto& g : joining) {
      try {
        admit(g);
      } catch (const std::exception& e) {
        g->finish("error", e.what());
      }
    }
    try {
      step();
    } catch (const std::exception& e) {  // a model failure: every row of the batch gets it
      std::lock_guard<std::mutex> l(mu_);
      for (auto& g : batch_) g->finish("error", e.what());
      batch_.clear();
      batch_state_ = {}, state_rows_ = 0;
    }
    if (Clock::now() - swept > std::chrono::seconds(1)) close_idle_sessions(), swept = Clock::now();
  }
}

}  // namespace recurrent::serve
