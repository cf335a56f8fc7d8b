// The explorer's Attention view: an encoder-decoder's attention weights over the source for a text the
// user types, greedy and with a beam (contract in explore/explorer.h).
#include <cmath>

#include "explore/explorer_impl.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/seq2seq.h"
#include "serve/server_impl.h"

namespace recurrent::explore {

using nlohmann::json;

namespace {

json decoded(const tasks::Seq2SeqModel& m, const tasks::Translation& t, int64_t beam) {
  json target = json::array(), weights = json::array();
  for (int64_t id : t.ids) target.push_back(m.config().tgt.token(id));
  if (t.ended) target.push_back("<eos>");
  for (const std::vector<float>& row : t.attention) {
    json r = json::array();
    for (float a : row) r.push_back(std::round(static_cast<double>(a) * 1e4) / 1e4);
    weights.push_back(std::move(r));
  }
  return {{"beam", beam}, {"translation", m.render(t.ids)}, {"target", target}, {"log_prob", t.log_prob},
          {"ended", t.ended}, {"attention", weights}};
}

}  // namespace

std::shared_ptr<tasks::Seq2SeqModel> Explorer::Impl::seq2seq(const RunEntry& r) {
  RC_CHECK(r.model, r.dir, "this run holds no model file (best.safetensors or last.safetensors)");
  const std::string path = tasks::resolve_model_path(r.dir);
  std::lock_guard<std::mutex> l(models_mu);
  auto it = s2s_models.find(path);
  if (it != s2s_models.end()) return it->second;
  std::shared_ptr<tasks::Seq2SeqModel> m = tasks::load_seq2seq(path);
  RC_CHECK(m->config().arch == "rnn", r.name, "the Attention view reads RNN encoder-decoders (a transformer has one "
           "attention per layer and head, not one alignment)");
  RC_CHECK(m->config().attention != tasks::AttentionKind::none, r.name, "this encoder-decoder has no attention (--attention none)");
  s2s_models[path] = m;
  return m;
}

void Explorer::Impl::add_attention_routes() {
  http.Post("/api/attention", [this](const httplib::Request& req, httplib::Response& res) {
    answer(res, [&] {
      const json b = object_body(req.body, {"run", "text", "beam"});
      RC_CHECK(b.contains("run") && b["run"].is_string(), "run", "expected a string");
      RC_CHECK(b.contains("text") && b["text"].is_string(), "text", "expected a string");
      int64_t beam = 5;
      if (b.contains("beam")) {
        RC_CHECK(b["beam"].is_number_integer() && b["beam"].get<int64_t>() >= 1 && b["beam"].get<int64_t>() <= 16, "beam",
                 "expected an integer in [1, 16]");
        beam = b["beam"].get<int64_t>();
      }
      const auto r = run(b["run"].get<std::string>(), res);
      if (!r) return;
      auto m = seq2seq(*r);
      const std::string& text = b["text"].get_ref<const std::string&>();
      RC_CHECK(text.size() <= 2000, "text", "expected at most 2000 bytes, got ", text.size());
      const std::vector<int64_t> src = m->encode_source(text, "text");
      json source = json::array();
      for (const std::string& s : tasks::seq2seq_tokens(text, "text")) source.push_back(s);
      if (source.empty()) source.push_back("<unk>");
      tasks::DecodeOptions o;
      o.keep_attention = true;
      json results = json::array();  // greedy, then the beam's best: the alternative the search found
      std::lock_guard<std::mutex> w(work_mu);
      results.push_back(decoded(*m, tasks::beam_search(*m, src, o), 1));
      if (beam > 1) {
        o.beam = beam;
        results.push_back(decoded(*m, tasks::beam_search(*m, src, o), beam));
      }
      reply_json(res, {{"source", source}, {"results", results}});
    });
  });
}

}  // namespace recurrent::explore
