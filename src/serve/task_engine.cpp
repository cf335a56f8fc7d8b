// Classifier, tagger and encoder-decoder behind one worker thread (contract in serve/task_engine.h).
#include "serve/task_engine.h"

#include <algorithm>
#include <memory>

#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/predict.h"

namespace recurrent::serve {

using nlohmann::json;

namespace {

std::function<json(const TextRequest&)> classifier(const std::string& path) {
  std::shared_ptr<tasks::TextClassifier> m = tasks::load_classifier(path);
  return [m](const TextRequest& r) {
    const std::vector<float> p = tasks::classifier_probabilities(*m, {m->encode(r.text, "text")});  // [1, C]
    const std::vector<std::string>& labels = m->config().labels;
    json probs = json::object();
    for (size_t c = 0; c < labels.size(); ++c) probs[labels[c]] = p[c];
    const size_t best = std::max_element(p.begin(), p.begin() + static_cast<int64_t>(labels.size())) - p.begin();
    return json{{"label", labels[best]}, {"probs", probs}};
  };
}

std::function<json(const TextRequest&)> tagger(const std::string& path) {
  std::shared_ptr<tasks::Tagger> m = tasks::load_tagger(path);
  return [m](const TextRequest& r) {
    const std::vector<tasks::TokenSentence> s = tasks::read_tag_input(r.text, "text", "lines");
    RC_CHECK(s.size() == 1, "text", "expected one sentence on one line, got ", s.size());
    const tasks::TagPrediction p = tasks::predict_tags(*m, s)[0];
    json tags = json::array();
    for (int64_t id : p.tags) tags.push_back(m->config().tags[id]);
    return json{{"tokens", s[0].tokens}, {"tags", tags}, {"probs", p.probs}};
  };
}

std::function<json(const TextRequest&)> encoder_decoder(const std::string& path) {
  std::shared_ptr<tasks::Seq2SeqModel> m = tasks::load_seq2seq(path);
  return [m](const TextRequest& r) {
    tasks::DecodeOptions o;
    o.beam = std::max<int64_t>(r.beam, 1);
    const tasks::Translation t = tasks::translate(*m, {m->encode_source(r.text, "text")}, o)[0];
    return json{{"translation", m->render(t.ids)}, {"log_prob", t.log_prob}, {"ended", t.ended}};
  };
}

}  // namespace

TaskEngine::TaskEngine(std::string name, std::string task, const std::string& path, EngineLimits limits)
    : name_(std::move(name)), task_(std::move(task)), lim_(limits) {
  if (task_ == "classify") predict_ = classifier(path), endpoint_ = "/v1/classify";
  else if (task_ == "tag") predict_ = tagger(path), endpoint_ = "/v1/tag";
  else if (task_ == "seq2seq") predict_ = encoder_decoder(path), endpoint_ = "/v1/translate";
  else throw Error(path, "serve takes language models, classifiers, taggers and encoder-decoders; this model's task is \"" +
                             task_ + "\"");
  thread_ = std::thread([this] { loop(); });
}

TaskEngine::~TaskEngine() {
  shutdown();
  if (thread_.joinable()) thread_.join();
}

bool TaskEngine::accepting() const {
  std::lock_guard<std::mutex> l(mu_);
  return !stopping_;
}

void TaskEngine::shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

std::future<json> TaskEngine::try_predict(const TextRequest& r) {
  auto task = std::make_shared<std::packaged_task<json()>>([this, r] {
    NoGradGuard ng;
    return predict_(r);
  });
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ || static_cast<int64_t>(jobs_.size()) >= lim_.max_queue + 1) return {};
    jobs_.push_back([task] { (*task)(); });
  }
  cv_.notify_all();
  return task->get_future();
}

void TaskEngine::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) {
        jobs_.clear();  // their promises break: the HTTP side answers 503
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace recurrent::serve
