// A transformer's attention maps, recorded by its own forward (contract in explore/attention_maps.h).
#include "explore/attention_maps.h"

#include <cmath>
#include <functional>
#include <memory>

#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/attention.h"

namespace recurrent::explore {

using nlohmann::json;

namespace {

// Every MultiheadAttention under a module, with its dotted name, each recording while this lives.
class Recorders {
 public:
  explicit Recorders(Module& root) { walk(root, ""); }
  ~Recorders() {
    for (auto& e : found_) e.module->set_record(nullptr);
  }
  struct Entry {
    std::string name;
    MultiheadAttention* module;
    std::shared_ptr<std::vector<Tensor>> record;
  };
  const std::vector<Entry>& entries() const { return found_; }

 private:
  void walk(Module& m, const std::string& prefix) {
    for (const auto& [name, child] : m.named_children()) {
      const std::string full = prefix.empty() ? name : prefix + "." + name;
      if (auto* a = dynamic_cast<MultiheadAttention*>(child.get())) {
        found_.push_back({full, a, std::make_shared<std::vector<Tensor>>()});
        a->set_record(found_.back().record);
      } else {
        walk(*child, full);
      }
    }
  }
  std::vector<Entry> found_;
};

int64_t layer_of(const std::string& name) {  // "….layers.N.…" → N
  const size_t at = name.find("layers.");
  return at == std::string::npos ? 0 : std::stoll(name.substr(at + 7));
}

// P [1, H, Tq, Tk] → [H][Tq][Tk], rounded to 1e-4 (the page draws colours; rows still sum to 1 ± 1e-3).
json heads_of(const Tensor& P) {
  const int64_t H = P.size(1), Tq = P.size(2), Tk = P.size(3);
  json heads = json::array();
  for (int64_t h = 0; h < H; ++h) {
    json rows = json::array();
    for (int64_t i = 0; i < Tq; ++i) {
      json row = json::array();
      for (int64_t j = 0; j < Tk; ++j) row.push_back(std::round(P.data()[(h * Tq + i) * Tk + j] * 1e4) / 1e4);
      rows.push_back(std::move(row));
    }
    heads.push_back(std::move(rows));
  }
  return heads;
}

// name → what, rows, cols (labels of the query and key steps).
struct Axes {
  std::string what;
  std::vector<std::string> rows, cols;
};

json maps_of(const Recorders& r, const std::function<Axes(const std::string&)>& axes) {
  json maps = json::array();
  for (const auto& e : r.entries()) {
    RC_CHECK(e.record->size() == 1, e.name, "expected one recorded attention call, got ", e.record->size());
    const Axes a = axes(e.name);
    const Tensor& P = e.record->front();
    RC_CHECK(P.size(2) == static_cast<int64_t>(a.rows.size()) && P.size(3) == static_cast<int64_t>(a.cols.size()),
             e.name, "recorded weights of an unexpected shape");
    maps.push_back({{"name", e.name}, {"what", a.what}, {"layer", layer_of(e.name)}, {"rows", a.rows},
                    {"cols", a.cols}, {"heads", heads_of(P)}});
  }
  return maps;
}

}  // namespace

json lm_attention_maps(tasks::TransformerLanguageModel& m, const std::string& text) {
  const data::Vocab& v = m.vocab();
  const std::vector<int64_t> ids = tasks::sample_prime_ids(v, text, "text");
  const int64_t T = static_cast<int64_t>(ids.size()), C = m.config().context;
  RC_CHECK(T >= 2, "text", "expected some text, got none");
  RC_CHECK(T <= C, "text", "expected at most ", C - 1, " tokens (the model's context is ", C, "), got ", T - 1);
  std::vector<std::string> labels{"<start>"};
  for (int64_t k = 1; k < T; ++k) labels.push_back(v.render(ids[k]));
  NoGradGuard ng;
  m.eval();
  Recorders r(m.body());
  m.body().forward(ids, 1, T);
  return maps_of(r, [&](const std::string&) { return Axes{"self", labels, labels}; });
}

json seq2seq_attention_maps(tasks::TransformerSeq2Seq& m, const std::vector<int64_t>& source,
                            const std::vector<std::string>& source_tokens, const tasks::Translation& t) {
  std::vector<std::string> in{"<bos>"}, out;
  for (int64_t id : t.ids) in.push_back(m.config().tgt.token(id)), out.push_back(m.config().tgt.token(id));
  out.push_back(t.ended ? "<eos>" : "…");
  NoGradGuard ng;
  m.eval();
  Recorders r(m);
  tasks::Seq2SeqBatch b;
  b.src = {&source};
  b.tgt = {&t.ids};
  m.forward(b);
  return maps_of(r, [&](const std::string& name) {
    if (name.starts_with("encoder")) return Axes{"encoder self", source_tokens, source_tokens};
    if (name.ends_with("multihead_attn")) return Axes{"cross", out, source_tokens};
    return Axes{"decoder self", out, in};
  });
}

}  // namespace recurrent::explore
