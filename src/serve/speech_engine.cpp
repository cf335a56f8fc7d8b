// A speech model behind one worker thread: uploads and streaming audio sessions (contract in
// serve/speech_engine.h).
#include "serve/speech_engine.h"

#include "recurrent/audio/wav.h"
#include "recurrent/core/error.h"

namespace recurrent::serve {

using nlohmann::json;

struct SpeechEngine::Session {
  std::unique_ptr<tasks::AsrStream> stream;
  Clock::time_point last_used;
};

namespace {

json digits_json(const std::vector<int>& digits) {
  return {{"text", tasks::digits_text(digits)}, {"digits", digits}};
}

// Raw s16le bytes → samples in [-1, 1), as `transcribe --stream` (and libsndfile for 16-bit PCM) scales them.
std::vector<float> s16le_samples(const std::string& pcm) {
  RC_CHECK(pcm.size() % 2 == 0, "body", pcm.size(), " bytes, an odd number: expected signed 16-bit little-endian "
           "mono samples (s16le)");
  std::vector<float> x(pcm.size() / 2);
  for (size_t i = 0; i < x.size(); ++i) {
    const auto lo = static_cast<uint16_t>(static_cast<unsigned char>(pcm[2 * i]));
    const auto hi = static_cast<uint16_t>(static_cast<unsigned char>(pcm[2 * i + 1]));
    x[i] = static_cast<int16_t>(static_cast<uint16_t>(lo | hi << 8)) / 32768.0f;
  }
  return x;
}

}  // namespace

SpeechEngine::SpeechEngine(std::string name, const std::string& path, EngineLimits limits, ModelMetrics& metrics)
    : name_(std::move(name)), model_(tasks::load_asr_model(path)), lim_(limits), metrics_(metrics) {
  const tasks::AsrConfig& c = model_->config();
  rate_ = c.front_end().sample_rate;
  model_->eval();
  std::string why_not;  // why this model cannot stream, as AsrStream says it
  try {
    tasks::AsrStream probe(*model_);
  } catch (const Error& e) {
    why_not = e.message();
  }
  description_ = {{"kind", c.kind == tasks::AsrKind::ctc ? "ctc" : "classify"},
                  {"sample_rate", rate_},
                  {"streaming", why_not.empty()}};
  if (!why_not.empty()) description_["streaming_refused"] = why_not;
  worker_ = std::make_unique<Worker>(limits.max_queue, [this] { close_idle_sessions(); }, &metrics.queue_depth);
}

SpeechEngine::~SpeechEngine() { worker_.reset(); }  // joins before the model and sessions go

std::future<json> SpeechEngine::try_transcribe(std::string audio, int64_t beam) {
  return worker_->try_run([this, audio = std::move(audio), beam] {
    tasks::AsrModel& m = *model_;
    const bool cls = m.config().kind == tasks::AsrKind::classify;
    RC_CHECK(!cls || beam == 1, "query parameter \"beam\"", "applies to CTC models; this model is an isolated-digit "
             "classifier");
    const audio::Audio a = audio::read_audio_bytes(audio, "body", {.target_rate = rate_});
    const tasks::AsrResult r = tasks::recognize(m, m.features_alone(a.samples, "body"), beam, false);
    json j = digits_json(r.digits);
    j["seconds"] = a.seconds(), j["notes"] = a.notes;
    if (cls) j["confidence"] = r.confidence;
    return j;
  });
}

std::future<std::string> SpeechEngine::try_open_session() {
  return worker_->try_run([this]() -> std::string {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (static_cast<int64_t>(sessions_.size()) >= lim_.max_sessions) return "";
    }
    auto s = std::make_shared<Session>();
    try {
      s->stream = std::make_unique<tasks::AsrStream>(*model_);
    } catch (const Error& e) {  // AsrStream names the CLI's --stream; here the model is the subject
      throw Error("model \"" + name_ + "\"", e.message());
    }
    s->last_used = Clock::now();
    std::string id = random_id();
    std::lock_guard<std::mutex> l(mu_);
    sessions_[id] = s;
    count_sessions();
    return id;
  });
}

std::future<json> SpeechEngine::try_push(const std::string& id, std::string pcm, bool finish) {
  return worker_->try_run([this, id, pcm = std::move(pcm), finish] {
    std::shared_ptr<Session> s;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = sessions_.find(id);
      RC_CHECK(it != sessions_.end(), "session", "no open session ", id, " (closed, expired or never opened)");
      s = it->second;
    }
    const std::vector<float> x = s16le_samples(pcm);
    s->last_used = Clock::now();
    if (!x.empty()) s->stream->push(x.data(), x.size());
    if (finish) {
      RC_CHECK(s->stream->samples_in() > 0, "session", "no audio yet: send s16le PCM at ", rate_,
               " Hz before finishing");
      s->stream->finish();
      close_session(id);
    }
    json j = digits_json(s->stream->digits());
    j["seconds"] = static_cast<double>(s->stream->samples_in()) / rate_;
    j["final"] = finish;
    return j;
  });
}

bool SpeechEngine::close_session(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  const bool found = sessions_.erase(id) > 0;
  count_sessions();
  return found;
}

void SpeechEngine::close_idle_sessions() {
  std::lock_guard<std::mutex> l(mu_);
  const Clock::time_point now = Clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = now - it->second->last_used > lim_.session_idle ? sessions_.erase(it) : std::next(it);
  count_sessions();
}

void SpeechEngine::count_sessions() {
  const auto n = static_cast<int64_t>(sessions_.size());
  metrics_.audio_sessions = n;
}

}  // namespace recurrent::serve
