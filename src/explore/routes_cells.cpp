// The explorer's model routes: the Cells view (activations, unit rows, pattern search) and samples
// (contract in explore/explorer.h).
#include <cmath>
#include <functional>

#include "explore/explorer_impl.h"
#include "explore/patterns.h"
#include "recurrent/core/error.h"
#include "serve/server_impl.h"

namespace recurrent::explore {

using nlohmann::json;

namespace {

// Rounded to 3 decimals: the page draws colours, not digits, and the body stays small.
json rounded(const float* x, int64_t stride, size_t n) {
  json out = json::array();
  for (size_t k = 0; k < n; ++k) out.push_back(std::round(static_cast<double>(x[k * stride]) * 1e3) / 1e3);
  return out;
}

std::string cells_id(const std::string& run, const std::string& text) {
  return std::to_string(std::hash<std::string>{}(run + '\0' + text) & 0xffffffffffffULL);
}

const std::string& str_field(const json& j, const char* name) {
  RC_CHECK(j.contains(name) && j[name].is_string(), name, "expected a string");
  return j[name].get_ref<const std::string&>();
}

int64_t int_field(const json& j, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (!j.contains(name)) return fallback;
  RC_CHECK(j[name].is_number_integer(), name, "expected an integer in [", lo, ", ", hi, "]");
  const int64_t v = j[name].get<int64_t>();
  RC_CHECK(v >= lo && v <= hi, name, "expected an integer in [", lo, ", ", hi, "], got ", v);
  return v;
}

double real_field(const json& j, const char* name, double fallback, double lo, double hi) {
  if (!j.contains(name)) return fallback;
  RC_CHECK(j[name].is_number(), name, "expected a number in [", lo, ", ", hi, "]");
  const double v = j[name].get<double>();
  RC_CHECK(std::isfinite(v) && v >= lo && v <= hi, name, "expected a number in [", lo, ", ", hi, "], got ", v);
  return v;
}

json cells_reply(const std::string& id, const Activations& a) {
  json layers = json::array();
  for (const LayerActivations& l : a.layers) {
    json kinds = json::array();
    for (const std::string& k : l.names) kinds.push_back(k);
    layers.push_back({{"cell", l.cell}, {"size", l.size}, {"kinds", kinds}});
  }
  return {{"id", id}, {"chars", a.chars}, {"prob", rounded(a.prob.data(), 1, a.prob.size())}, {"layers", layers},
          {"seconds", a.seconds}, {"gate_check", a.gate_check}};
}

std::vector<float> search_pattern(const json& b, const Activations& a) {
  RC_CHECK(b.contains("pattern") != b.contains("spans"), "body", "expected either \"pattern\" or \"spans\"");
  if (b.contains("pattern")) return builtin_pattern(str_field(b, "pattern"), a.chars);
  RC_CHECK(b["spans"].is_array() && !b["spans"].empty() && b["spans"].size() <= 1000, "spans",
           "expected a list of 1 to 1000 [begin, end] pairs");
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const json& s : b["spans"]) {
    RC_CHECK(s.is_array() && s.size() == 2 && s[0].is_number_integer() && s[1].is_number_integer(), "spans",
             "expected [begin, end] pairs of integers");
    spans.push_back({s[0].get<int64_t>(), s[1].get<int64_t>()});
  }
  return spans_pattern(spans, a.chars.size());
}

// Whether search body b ranks a kind that cell set a does not keep (no "kinds": every kind).
bool needs_gates(const json& b, const Activations& a) {
  if (a.gates) return false;
  if (!b.is_object() || !b.contains("kinds")) return true;
  if (!b["kinds"].is_array()) return false;  // refused by search_reply
  for (const json& k : b["kinds"])
    if (k.is_string() && k != "h" && k != "c") return true;
  return false;
}

constexpr std::initializer_list<const char*> kSearchFields = {"pattern", "spans", "kinds", "top"};

// The units ranked for a search body {"pattern"|"spans", "kinds"?, "top"?}: {"units", "best_values"} (the
// first unit's row, so the page colours the text without asking again).
json search_reply(const json& b, const Activations& a) {
  std::vector<std::string> kinds;
  if (b.contains("kinds")) {
    RC_CHECK(b["kinds"].is_array(), "kinds", "expected a list of kind names (h, c, i, f, o, r, z)");
    for (const json& k : b["kinds"]) {
      RC_CHECK(k.is_string(), "kinds", "expected a list of kind names (h, c, i, f, o, r, z)");
      kinds.push_back(k.get<std::string>());
    }
  }
  const std::vector<float> p = search_pattern(b, a);
  json units = json::array();
  const std::vector<UnitScore> top = rank_units(a, p, kinds, static_cast<size_t>(int_field(b, "top", 10, 1, 100)));
  for (const UnitScore& u : top) units.push_back({{"layer", u.layer}, {"index", u.index}, {"kind", u.kind}, {"r", u.r}});
  json out = {{"units", units}};
  if (!top.empty()) {
    const Rows& rows = a.layers[top[0].layer].kinds.at(top[0].kind);
    out["best_values"] = rounded(rows.data + top[0].index, rows.ld, a.chars.size());
  }
  return out;
}

// The prime and `length` sampled tokens, each with its probability under the model (tasks/lm.h's pieces).
json sample_tokens(tasks::LmModel& m, const tasks::SampleOptions& o) {
  NoGradGuard ng;
  const data::Vocab& v = m.vocab();
  const std::vector<int64_t> ids = tasks::sample_prime_ids(v, o.prime, "prime");
  auto st = m.streams();
  const std::vector<std::vector<double>> rows =
      tasks::log_prob_rows(st->feed(ids, static_cast<int64_t>(ids.size()), 1));
  json tokens = json::array();
  for (size_t k = 1; k < ids.size(); ++k) tokens.push_back({{"token", v.render(ids[k])}, {"prob", std::exp(rows[k - 1][ids[k]])}, {"prime", true}});
  std::vector<double> cur = rows.back();
  tasks::TokenSampler sampler(o);
  for (int64_t k = 0; k < o.length; ++k) {
    const int64_t id = sampler.next(cur);
    tokens.push_back({{"token", v.render(id)}, {"prob", std::exp(cur[id])}});
    cur = tasks::log_prob_rows(st->feed({id}, 1, 1))[0];
  }
  return {{"tokens", tokens}};
}

}  // namespace

std::shared_ptr<const Activations> Explorer::Impl::cell_set(const std::string& id, httplib::Response& res) {
  std::lock_guard<std::mutex> l(cells_mu);
  for (auto& c : cells)
    if (c.id == id) return c.acts;
  reply_error(res, 404, "no cell set \"" + id.substr(0, 40) + "\" (computed sets are kept 4 at a time: post /api/cells again)");
  return nullptr;
}

std::shared_ptr<const Activations> Explorer::Impl::gated_set(const std::string& id, httplib::Response& res) {
  CellSet c;
  {
    std::lock_guard<std::mutex> l(cells_mu);
    for (auto& s : cells)
      if (s.id == id) c = s;
  }
  if (!c.acts || c.acts->gates) return c.acts ? c.acts : cell_set(id, res);  // cell_set: the 404
  const auto [m, layers] = char_lm(c.run);
  std::lock_guard<std::mutex> w(work_mu);
  {
    std::lock_guard<std::mutex> l(cells_mu);  // read with its gates by another request meanwhile?
    for (auto& s : cells)
      if (s.id == id && s.acts->gates) return s.acts;
  }
  note("cells of " + c.run.name + ": reading with the gates");
  auto full = std::make_shared<const Activations>(
      compute_activations(dynamic_cast<tasks::LanguageModel&>(*m), c.text, opt.max_chars, 512, layers.get(), true));
  std::lock_guard<std::mutex> l(cells_mu);
  for (auto& s : cells)
    if (s.id == id) s.acts = full;
  return full;
}

std::pair<std::shared_ptr<tasks::LmModel>, std::shared_ptr<const std::vector<RNN>>> Explorer::Impl::char_lm(const RunEntry& r) {
  auto m = model(r);
  auto* lm = dynamic_cast<tasks::LanguageModel*>(m.get());
  RC_CHECK(lm, r.name, "the Cells view reads RNN language models; this is a ", m->summary());
  RC_CHECK(lm->vocab().level() == data::TokenLevel::chars, r.name, "the Cells view reads character-level models; this one is word level");
  std::lock_guard<std::mutex> l(models_mu);
  auto& entry = layer_cache[r.dir];
  if (entry.first != m) entry = {m, std::make_shared<const std::vector<RNN>>(layer_rnns(lm->rnn()))};
  return entry;
}

Explorer::Impl::CellSet Explorer::Impl::read_cells(const RunEntry& r, const std::string& text) {
  const std::string id = cells_id(r.dir, text);
  {
    std::lock_guard<std::mutex> l(cells_mu);
    for (auto& c : cells)
      if (c.id == id) return c;
  }
  const auto [m, layers] = char_lm(r);
  note("cells of " + r.name + ": model ready");
  CellSet c;
  {
    std::lock_guard<std::mutex> w(work_mu);
    note("cells of " + r.name + ": reading");
    c.acts = std::make_shared<const Activations>(
        compute_activations(dynamic_cast<tasks::LanguageModel&>(*m), text, opt.max_chars, 512, layers.get(), false));
  }
  note("cells of " + r.name + ": read in " + std::to_string(c.acts->seconds) + " s");
  c.id = id, c.run = r, c.text = text;
  c.reply = serve::dump(cells_reply(id, *c.acts)) + "\n";  // kept: the same text asks again
  note("cells of " + r.name + ": reply of " + std::to_string(c.reply.size()) + " bytes");
  std::lock_guard<std::mutex> l(cells_mu);
  cells.push_front(c);
  if (cells.size() > 4) cells.pop_back();
  return c;
}

void Explorer::Impl::add_cells_routes() {
  http.Post("/api/cells", [this](const httplib::Request& req, httplib::Response& res) {
    answer(res, [&] {
      const json b = object_body(req.body, {"run", "text", "search"});
      const std::string& name = str_field(b, "run");
      RC_CHECK(b.contains("text") || !opt.text.empty(), "text", "expected a string (this explorer has no --text to read instead)");
      const std::string& text = b.contains("text") ? str_field(b, "text") : opt.text;
      if (b.contains("search")) check_fields(b["search"], "search", kSearchFields);  // before the reading
      const auto r = run(name, res);
      if (!r) return;
      const CellSet c = read_cells(*r, text);
      if (!b.contains("search")) return res.set_content(c.reply, kJson);
      // The reply with the search's answer spliced in before its closing brace: {..., "search": {...}}.
      auto acts = c.acts;
      if (needs_gates(b["search"], *acts) && !(acts = gated_set(c.id, res))) return;
      const json s = search_reply(b["search"], *acts);
      note("cells: searched");
      std::string out = c.reply.substr(0, c.reply.rfind('}'));
      out += ",\"search\":" + serve::dump(s) + "}\n";
      res.set_content(out, kJson);
    });
  });
  http.Get(R"(/api/cells/([0-9]+)/unit)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string kind = req.has_param("kind") ? req.get_param_value("kind") : "h";
    const bool gate = kind == "i" || kind == "f" || kind == "o" || kind == "r" || kind == "z";
    const auto a = gate ? gated_set(req.matches[1], res) : cell_set(req.matches[1], res);
    if (!a) return;
    const auto layer = parse_count(req.get_param_value("layer"), -1), index = parse_count(req.get_param_value("index"), -1);
    if (!layer || *layer < 0 || *layer >= static_cast<int64_t>(a->layers.size()))
      return reply_error(res, 400, "layer: expected an integer in [0, " + std::to_string(a->layers.size()) + ")");
    const LayerActivations& l = a->layers[static_cast<size_t>(*layer)];
    if (!index || *index < 0 || *index >= l.size)
      return reply_error(res, 400, "index: expected an integer in [0, " + std::to_string(l.size) + ")");
    auto it = l.kinds.find(kind);
    if (it == l.kinds.end()) return reply_error(res, 400, "kind: this layer has no \"" + kind.substr(0, 16) + "\"");
    reply_json(res, {{"values", rounded(it->second.data + *index, it->second.ld, a->chars.size())}});
  });
  http.Post(R"(/api/cells/([0-9]+)/search)", [this](const httplib::Request& req, httplib::Response& res) {
    auto a = cell_set(req.matches[1], res);
    if (!a) return;
    answer(res, [&] {
      const json b = object_body(req.body, kSearchFields);
      if (needs_gates(b, *a) && !(a = gated_set(req.matches[1], res))) return;
      reply_json(res, search_reply(b, *a));
    });
  });
  http.Post("/api/sample", [this](const httplib::Request& req, httplib::Response& res) {
    answer(res, [&] {
      const json b = object_body(req.body, {"run", "prime", "length", "temperature", "top_k", "top_p", "seed"});
      const auto r = run(str_field(b, "run"), res);
      if (!r) return;
      tasks::SampleOptions o;
      o.prime = b.contains("prime") ? str_field(b, "prime") : "";
      o.length = int_field(b, "length", 200, 0, 2000);
      o.temperature = real_field(b, "temperature", 1.0, 1e-3, 100.0);
      o.top_k = int_field(b, "top_k", 0, 0, 1000000);
      o.top_p = real_field(b, "top_p", 1.0, 1e-6, 1.0);
      o.seed = static_cast<uint64_t>(int_field(b, "seed", 1, 0, INT64_MAX));
      auto m = model(*r);
      std::lock_guard<std::mutex> w(work_mu);
      reply_json(res, sample_tokens(*m, o));
    });
  });
}

}  // namespace recurrent::explore
