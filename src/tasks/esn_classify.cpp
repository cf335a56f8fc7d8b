// Echo state network classification of labelled sentences (recurrent/tasks/esn.h): one-hot tokens drive
// the reservoir from x = 0; [1; mean x; last x] → ridge readout → one score per class → arg-max.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/train/checkpoint.h"

namespace recurrent::tasks {

namespace {

using nlohmann::json;

// The vocabulary of the training texts: "<unk>", then tokens seen ≥ min_count times, most frequent
// first (ties: token order).
std::vector<std::string> build_vocab(const EsnConfig& c, const data::LabeledSet& train) {
  std::map<std::string, int64_t> count;
  for (const data::LabeledText& it : train.items)
    for (const std::string& t : classify_tokens(it.text, c.chars, c.lower, train.source + ":" + std::to_string(it.line)))
      ++count[t];
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [t, n] : count)
    if (n >= c.min_count) kept.emplace_back(t, n);
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> vocab = {"<unk>"};
  for (const auto& [t, n] : kept) vocab.push_back(t);
  return vocab;
}

// Splits --data by position as train classify's default (i mod 10: 9 test, 8 validation), unless files
// are given for those parts.
void split(const EsnTrainOptions& o, data::LabeledSet& train, data::LabeledSet& valid, data::LabeledSet& test) {
  const data::LabeledSet all = data::read_labeled(o.data);
  train.source = valid.source = test.source = all.source;
  for (size_t i = 0; i < all.items.size(); ++i) {
    const size_t f = i % 10;
    (f == 9 && o.test.empty() ? test : f == 8 && o.valid.empty() ? valid : train).items.push_back(all.items[i]);
  }
  if (!o.valid.empty()) valid = data::read_labeled(o.valid);
  if (!o.test.empty()) test = data::read_labeled(o.test);
  data::check_classes(train, "training data");
}

// Features [rows, F] and one-hot targets [rows, C] of a set.
void design(const EchoStateNetwork& m, const data::LabeledSet& set, const data::LabelSet& labels,
            std::vector<double>& X, std::vector<double>& Y) {
  const int64_t C = labels.size();
  const std::vector<int64_t> ids = labels.ids(set);
  for (size_t i = 0; i < set.items.size(); ++i) {
    const std::string where = set.source + ":" + std::to_string(set.items[i].line);
    const std::vector<double> f = esn_sentence_features(m, esn_encode(m, set.items[i].text, where));
    X.insert(X.end(), f.begin(), f.end());
    for (int64_t c = 0; c < C; ++c) Y.push_back(c == ids[i] ? 1.0 : 0.0);
  }
}

json figures(const ClassifyEval& e) { return {{"n", e.n}, {"accuracy", e.accuracy}, {"macro_f1", e.macro_f1}}; }

}  // namespace

std::vector<int64_t> esn_encode(const EchoStateNetwork& m, const std::string& text, const std::string& where) {
  const EsnConfig& c = m.config();
  const std::unordered_map<std::string, int64_t>& index = m.vocab_index();
  std::vector<int64_t> ids;
  for (const std::string& t : classify_tokens(text, c.chars, c.lower, where)) {
    auto it = index.find(t);
    ids.push_back(it == index.end() ? 0 : it->second);
  }
  if (ids.empty()) ids.push_back(0);
  return ids;
}

std::vector<double> esn_sentence_features(const EchoStateNetwork& m, const std::vector<int64_t>& ids) {
  const int64_t N = m.config().reservoir;
  std::vector<double> x(static_cast<size_t>(N), 0.0), f(static_cast<size_t>(1 + 2 * N), 0.0);
  f[0] = 1.0;
  for (int64_t v : ids) {
    m.step_token(v, x);
    for (int64_t i = 0; i < N; ++i) f[1 + i] += x[i];
  }
  for (int64_t i = 0; i < N; ++i) f[1 + i] /= static_cast<double>(ids.size()), f[1 + N + i] = x[i];
  return f;
}

std::vector<std::vector<double>> esn_class_scores(const EchoStateNetwork& m, const std::vector<std::string>& texts,
                                                  const std::string& where) {
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<double> f = esn_sentence_features(m, esn_encode(m, texts[i], where));
    std::vector<double> s(static_cast<size_t>(m.config().outputs));
    m.readout_features(f.data(), s.data());
    out.push_back(std::move(s));
  }
  return out;
}

ClassifyEval evaluate_esn_classifier(const EchoStateNetwork& m, const data::LabeledSet& set) {
  RC_CHECK(!set.items.empty(), set.source, "no labelled sentences to evaluate");
  const data::LabelSet labels = data::LabelSet::from_names(m.config().labels);
  const std::vector<int64_t> gold = labels.ids(set);
  std::vector<std::string> texts;
  for (const data::LabeledText& it : set.items) texts.push_back(it.text);
  std::vector<int64_t> pred;
  for (const std::vector<double>& s : esn_class_scores(m, texts, set.source))
    pred.push_back(std::max_element(s.begin(), s.end()) - s.begin());
  return classification_metrics(gold, pred, labels.size());
}

std::string train_esn_classifier(const EsnTrainOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  train::RunOptions ro = o;
  train::RunDir dir(ro);  // refuses another run's folder before any work
  EsnConfig cfg = o.cfg;
  cfg.seed = o.seed;
  data::LabeledSet tr, va, te;
  split(o, tr, va, te);
  const data::LabelSet labels = data::LabelSet::from(tr);
  cfg.labels = labels.names();
  cfg.vocab = build_vocab(cfg, tr);
  cfg.inputs = static_cast<int64_t>(cfg.vocab.size()), cfg.outputs = labels.size();
  cfg.validate();
  Rng rng(o.seed);
  EchoStateNetwork m(cfg, rng);
  std::vector<double> X, Y;
  design(m, tr, labels, X, Y);
  const int64_t rows = static_cast<int64_t>(tr.items.size());
  m.set_readout(ridge_solve(X, Y, rows, cfg.features_out(), cfg.outputs, cfg.ridge, "esn readout"));
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  dir.create();
  train::CheckpointData cd;
  cd.config_json = m.config().to_json();
  cd.command_json = o.command;
  train::save_checkpoint(dir.file("last.safetensors"), m, nullptr, cd);
  json r = {{"task", "esn"}, {"mode", "classify"}, {"reservoir", cfg.reservoir}, {"vocab", cfg.vocab.size()},
            {"classes", cfg.outputs}, {"train", tr.items.size()}, {"fit_seconds", fit_s},
            {"train_figures", figures(evaluate_esn_classifier(m, tr))}};
  for (const auto& [name, set] : {std::pair<const char*, const data::LabeledSet*>{"valid", &va}, {"test", &te}}) {
    if (set->items.empty()) continue;
    const ClassifyEval e = evaluate_esn_classifier(m, *set);
    r[name] = figures(e);
    std::printf("%s: accuracy %.2f%%  macro-F1 %.4f on %lld sentences\n", name, 100 * e.accuracy, e.macro_f1,
                static_cast<long long>(e.n));
  }
  std::fflush(stdout);
  if (!o.quiet)
    std::fprintf(stderr, "esn classifier: %zu training sentences, %lld classes, vocabulary %zu, reservoir %lld: fitted "
                 "in %.2f s\n", tr.items.size(), static_cast<long long>(cfg.outputs), cfg.vocab.size(),
                 static_cast<long long>(cfg.reservoir), fit_s);
  const std::string text = r.dump(2) + "\n";
  io::write_file_atomic(dir.file("results.json"), text);
  return text;
}

}  // namespace recurrent::tasks
