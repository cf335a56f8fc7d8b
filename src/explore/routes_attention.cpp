// The explorer's Attention view: an RNN encoder-decoder's attention over the source (greedy and a
// beam), and a transformer's maps per layer and head (its LM's self-attention; its encoder-decoder's
// encoder self, decoder self and cross attention) for a text the user types (contract in explore/explorer.h).
#include <cmath>

#include "explore/attention_maps.h"
#include "explore/explorer_impl.h"
#include "recurrent/core/error.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/lm_transformer.h"
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

// The "task" of a model file's recurrent.config (read from its header only).
std::string model_task(const std::string& path) {
  const json cfg = json::parse(io::read_safetensors_header(path).metadata_or("recurrent.config", ""), nullptr, false);
  return cfg.is_object() ? cfg.value("task", "lm") : "";
}

}  // namespace

std::shared_ptr<tasks::Seq2SeqModel> Explorer::Impl::seq2seq(const RunEntry& r) {
  RC_CHECK(r.model, r.dir, "this run holds no model file (best.safetensors or last.safetensors)");
  const std::string path = tasks::resolve_model_path(r.dir);
  std::lock_guard<std::mutex> l(models_mu);
  auto it = s2s_models.find(path);
  if (it != s2s_models.end()) return it->second;
  std::shared_ptr<tasks::Seq2SeqModel> m = tasks::load_seq2seq(path);
  RC_CHECK(m->config().arch != "rnn" || m->config().attention != tasks::AttentionKind::none, r.name,
           "this encoder-decoder has no attention (--attention none)");
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
      RC_CHECK(r->model, r->name, "this run holds no model file");
      const std::string& text = b["text"].get_ref<const std::string&>();
      RC_CHECK(text.size() <= 2000, "text", "expected at most 2000 bytes, got ", text.size());
      if (model_task(tasks::resolve_model_path(r->dir)) != "seq2seq") {  // a language model: a transformer's maps
        auto m = model(*r);
        auto* t = dynamic_cast<tasks::TransformerLanguageModel*>(m.get());
        RC_CHECK(t, r->name, "the Attention view reads encoder-decoders and transformers; this is a ", m->summary());
        std::lock_guard<std::mutex> w(work_mu);
        return reply_json(res, {{"maps", lm_attention_maps(*t, text)}});
      }
      auto m = seq2seq(*r);
      const std::vector<int64_t> src = m->encode_source(text, "text");
      std::vector<std::string> tokens = tasks::seq2seq_tokens(text, "text");
      if (tokens.empty()) tokens.push_back("<unk>");
      tasks::DecodeOptions o;
      o.keep_attention = true;
      auto* tf = dynamic_cast<tasks::TransformerSeq2Seq*>(m.get());
      json results = json::array();  // greedy, then the beam's best: the alternative the search found
      std::lock_guard<std::mutex> w(work_mu);
      for (int64_t k : {int64_t{1}, beam}) {
        if (k == beam && k == 1 && !results.empty()) break;
        o.beam = k;
        const tasks::Translation t = tasks::beam_search(*m, src, o);
        json d = decoded(*m, t, k);
        if (tf) d["maps"] = seq2seq_attention_maps(*tf, src, tokens, t);
        results.push_back(std::move(d));
      }
      reply_json(res, {{"source", tokens}, {"results", results}});
    });
  });
}

}  // namespace recurrent::explore
