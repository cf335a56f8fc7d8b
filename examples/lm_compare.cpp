// lm_compare — the RNN-vs-transformer comparison of issue 8 on one character corpus: trains an
// LSTM, GRU or GPT-style transformer language model for a fixed wall-clock budget on the same
// split and vocabulary, then reports held-out bits/char, training characters/s and the generation
// latency per character, as one JSON line (scripts/compare/rnn_vs_transformer.sh collects them).
//
//   data: code points; 90/5/5 contiguous split (train / valid / test), vocabulary from train
//         (id 0: characters unseen in training) — as examples/char_lm.cpp
//   rnn:          embedding [V, E] → RNN stack → linear [V, H]; B rows of the stream, chunks of
//                 seq_len steps, hidden state carried across chunks (truncated BPTT)
//   transformer:  nn/transformer.h TransformerLM, context = seq_len; the same B rows and chunks,
//                 each chunk an independent window (no state to carry)
//   optimiser:    Adam, linear warm-up over 100 steps, then cosine decay to 10% of --lr at the end
//                 of the time budget; gradient norm clipped at --clip. Evaluation time is not
//                 counted in the budget.
//   held-out:     rnn: 64 rows of the test text, chunks of 100, state carried (each row starts
//                 cold). transformer: windows of C = seq_len with stride C/2, each scoring its
//                 last C/2 positions (the first window all), so every character has ≥ C/2 context.
//   generation:   batch 1, --gen-length characters after a short prime, temperature 0.8.
//                 transformer: KV cache (window slides by re-running the last C/2 characters when
//                 full) and, for the comparison, the same tokens by recomputing the whole context.
//
// Example: build/examples/lm_compare --arch transformer --time-budget 600 --json runs/tf.json
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/nn/transformer.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct RnnLM : Module {
  Var emb, head_w, head_b;
  std::shared_ptr<RNN> rnn;
  RnnLM(int64_t V, int64_t E, RNNOptions o, Rng& rng) {
    Tensor e({V, E});
    rng.fill_normal(e, 0.0f, 1.0f);
    emb = register_parameter("embedding.weight", e);
    rnn = register_module("rnn", std::make_shared<RNN>(std::move(o), rng));
    const int64_t R = rnn->options().layer_output_size(rnn->options().layers.size() - 1);
    const float k = 1.0f / std::sqrt(static_cast<float>(R));
    Tensor w({V, R}), b({V});
    rng.fill_uniform(w, -k, k);
    rng.fill_uniform(b, -k, k);
    head_w = register_parameter("head.weight", w);
    head_b = register_parameter("head.bias", b);
  }
  // ids [T, B] time-major → logits [T, B, V]; state carried and detached
  Var forward(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& state) {
    RNNOutput out = rnn->forward(embedding(emb, ids, {T, B}), {}, state);
    state = {};
    for (auto& h : out.final_state.h) state.h.push_back(h.detach());
    for (auto& c : out.final_state.c) state.c.push_back(c.defined() ? c.detach() : Var());
    return linear(out.output, head_w, head_b);
  }
};

// Chunk of the stream cut into B rows: element [t, b] (time_major) or [b, t] = s[b·len + start + t + off].
std::vector<int64_t> chunk(const std::vector<int64_t>& s, int64_t B, int64_t start, int64_t T, int64_t off,
                           bool time_major) {
  const int64_t len = static_cast<int64_t>(s.size()) / B;
  std::vector<int64_t> ids(static_cast<size_t>(T * B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) ids[static_cast<size_t>(time_major ? t * B + b : b * T + t)] = s[b * len + start + t + off];
  return ids;
}

double eval_rnn(RnnLM& m, const std::vector<int64_t>& s) {
  NoGradGuard ng;
  m.eval();
  const int64_t B = 64, T = 100, len = static_cast<int64_t>(s.size()) / B;
  RNNState st;
  double nats = 0.0;
  int64_t n = 0;
  for (int64_t start = 0; start + T + 1 <= len; start += T) {
    Var logits = m.forward(chunk(s, B, start, T, 0, true), T, B, st);
    nats += cross_entropy(logits, chunk(s, B, start, T, 1, true)).value().item() * T * B;
    n += T * B;
  }
  m.train();
  return nats / static_cast<double>(n) / std::log(2.0);
}

double eval_transformer(TransformerLM& m, const std::vector<int64_t>& s) {
  NoGradGuard ng;
  m.eval();
  const int64_t C = m.options().context, half = C / 2, N = static_cast<int64_t>(s.size());
  double nats = 0.0;
  int64_t n = 0;
  for (int64_t w = 0; w + C + 1 <= N; w += half) {
    std::vector<int64_t> in(s.begin() + w, s.begin() + w + C), tgt(s.begin() + w + 1, s.begin() + w + C + 1);
    CrossEntropyOptions o;
    o.reduction = Reduction::sum;
    o.weights.assign(static_cast<size_t>(C), 1.0f);
    if (w > 0)
      for (int64_t t = 0; t < half; ++t) o.weights[static_cast<size_t>(t)] = 0.0f;  // scored by the previous window
    nats += cross_entropy(m.forward(in, 1, C), tgt, o).value().item();
    n += w > 0 ? C - half : C;
  }
  m.train();
  return nats / static_cast<double>(n) / std::log(2.0);
}

int64_t sample(const Tensor& logits_row, float temperature, Rng& r) {
  std::vector<float> l = logits_row.contiguous().to_vector();
  const float mx = *std::max_element(l.begin(), l.end());
  double z = 0;
  for (float& v : l) v = std::exp((v - mx) / temperature), z += v;
  double u = r.uniform() * z;
  int64_t k = 0;
  while (k + 1 < static_cast<int64_t>(l.size()) && (u -= l[static_cast<size_t>(k)]) > 0) ++k;
  return k;
}

struct GenResult {
  std::vector<int64_t> ids;
  double ms_per_token = 0.0, ms_per_token_recompute = 0.0;
};

GenResult generate_rnn(RnnLM& m, std::vector<int64_t> prime, int64_t n, uint64_t seed) {
  NoGradGuard ng;
  m.eval();
  RNNState st;
  Var logits;
  for (int64_t id : prime) logits = m.forward({id}, 1, 1, st);
  Rng r(seed);
  GenResult g;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    g.ids.push_back(sample(logits.value().select(0, 0).select(0, 0), 0.8f, r));
    logits = m.forward({g.ids.back()}, 1, 1, st);
  }
  g.ms_per_token = seconds_since(t0) * 1e3 / static_cast<double>(n);
  return g;
}

// KV-cached sampling; then the same token sequence again by recomputing the full window each step.
GenResult generate_transformer(TransformerLM& m, std::vector<int64_t> ctx, int64_t n, uint64_t seed) {
  NoGradGuard ng;
  m.eval();
  const int64_t C = m.options().context;
  const std::vector<int64_t> prime = ctx;
  LMCache cache;
  Tensor logits = m.forward_cached(ctx, 1, static_cast<int64_t>(ctx.size()), cache);
  Rng r(seed);
  GenResult g;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = sample(logits.select(0, 0).select(0, logits.size(1) - 1), 0.8f, r);
    g.ids.push_back(id);
    ctx.push_back(id);
    if (cache.len() == C) {  // full: keep the last C/2 tokens as the new window
      ctx.erase(ctx.begin(), ctx.end() - C / 2);
      cache.clear();
      logits = m.forward_cached(ctx, 1, static_cast<int64_t>(ctx.size()), cache);
    } else {
      logits = m.forward_cached({id}, 1, 1, cache);
    }
  }
  g.ms_per_token = seconds_since(t0) * 1e3 / static_cast<double>(n);
  // Recompute: the same tokens, each step re-running the causal forward over the last ≤ C tokens.
  std::vector<int64_t> hist = prime;
  const auto t1 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(hist.size()), C);
    std::vector<int64_t> w(hist.end() - len, hist.end());
    (void)m.forward(w, 1, len);
    hist.push_back(g.ids[static_cast<size_t>(i)]);
  }
  g.ms_per_token_recompute = seconds_since(t1) * 1e3 / static_cast<double>(n);
  return g;
}

struct Options {
  std::string arch = "lstm", data = "data/moby-dick/moby-dick.txt", json, prime = "Call me Ishmael. ";
  int64_t hidden = 512, embed = 64, layers = 2;                 // rnn
  int64_t d_model = 192, heads = 4, ff = 768;                    // transformer (layers shared)
  int64_t seq = 128, batch = 32, gen_length = 400, warmup = 100;
  double budget = 300, lr = 2e-3, clip = 1.0, dropout = 0.0, eval_every = 60;
  uint64_t seed = 1;
  int threads = 0;
};

struct Corpus {
  std::vector<char32_t> chars;
  std::map<char32_t, int64_t> ids;
  std::vector<int64_t> train, valid, test;
  std::vector<int64_t> encode(const std::u32string& t) const {
    std::vector<int64_t> out;
    for (char32_t c : t) {
      auto it = ids.find(c);
      out.push_back(it == ids.end() ? 0 : it->second);
    }
    return out;
  }
};

Corpus load(const std::string& path) {
  std::u32string text = read_utf8_file(path);
  const size_t n = text.size(), n_train = n * 9 / 10, n_valid = n / 20;
  Corpus c;
  c.ids[U'\0'] = 0;
  for (size_t i = 0; i < n_train; ++i) c.ids.emplace(text[i], 0);
  for (auto& [ch, id] : c.ids) id = static_cast<int64_t>(c.chars.size()), c.chars.push_back(ch);
  c.train = c.encode(text.substr(0, n_train));
  c.valid = c.encode(text.substr(n_train, n_valid));
  c.test = c.encode(text.substr(n_train + n_valid));
  return c;
}

// Adam step size: linear warm-up, then cosine from lr to lr/10 over the budget.
double lr_at(const Options& o, int64_t step, double elapsed) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  const double f = std::min(1.0, elapsed / o.budget);
  return o.lr * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * f)));
}

std::string json_curve(const std::vector<std::pair<double, double>>& c) {
  std::string s = "[";
  char buf[64];
  for (size_t i = 0; i < c.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s[%.1f,%.4f]", i ? "," : "", c[i].first, c[i].second);
    s += buf;
  }
  return s + "]";
}

int run(const Options& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const Corpus c = load(o.data);
  const int64_t V = static_cast<int64_t>(c.chars.size());
  RC_CHECK(static_cast<int64_t>(c.train.size()) > o.batch * (o.seq + 1), o.data, "text too short for batch × seq-len");
  const bool tf = o.arch == "transformer";
  Rng rng(o.seed);
  std::unique_ptr<RnnLM> rnn;
  std::unique_ptr<TransformerLM> lm;
  if (tf) {
    TransformerLMOptions lo;
    lo.vocab = V;
    lo.context = o.seq;
    lo.layers = o.layers;
    lo.d_model = o.d_model;
    lo.heads = o.heads;
    lo.ff = o.ff;
    lo.dropout = static_cast<float>(o.dropout);
    lm = std::make_unique<TransformerLM>(lo, rng);
  } else {
    RNNOptions ro = RNNOptions::uniform(parse_cell(o.arch), o.embed, o.hidden, o.layers);
    ro.dropout = static_cast<float>(o.dropout);
    rnn = std::make_unique<RnnLM>(V, o.embed, ro, rng);
  }
  Module& model = tf ? static_cast<Module&>(*lm) : *rnn;
  std::fprintf(stderr, "%s: %lld parameters, vocabulary %lld, train %zu chars\n", o.arch.c_str(),
               (long long)model.num_parameters(), (long long)V, c.train.size());
  AdamOptions ao;
  ao.lr = o.lr;
  Adam opt(model.parameters(), ao);
  auto evaluate = [&](const std::vector<int64_t>& s) { return tf ? eval_transformer(*lm, s) : eval_rnn(*rnn, s); };
  // validation on the first 20k characters during training (the curve); test at the end
  const std::vector<int64_t> valid_part(c.valid.begin(), c.valid.begin() + std::min<size_t>(c.valid.size(), 20000));

  const int64_t row_len = static_cast<int64_t>(c.train.size()) / o.batch;
  RNNState st;
  int64_t step = 0, pos = 0, tokens = 0;
  double train_s = 0.0, avg = 0.0, next_eval = o.eval_every;
  std::vector<std::pair<double, double>> curve;  // (training seconds, valid bits/char)
  while (train_s < o.budget) {
    const auto t0 = Clock::now();
    if (pos + o.seq + 1 > row_len) pos = 0, st = {};
    Var logits = tf ? lm->forward(chunk(c.train, o.batch, pos, o.seq, 0, false), o.batch, o.seq)
                    : rnn->forward(chunk(c.train, o.batch, pos, o.seq, 0, true), o.seq, o.batch, st);
    Var loss = cross_entropy(logits, chunk(c.train, o.batch, pos, o.seq, 1, !tf));
    model.zero_grad();
    loss.backward();
    const float norm = clip_grad_norm(model.parameters(), static_cast<float>(o.clip));
    RC_CHECK(std::isfinite(loss.value().item()) && std::isfinite(norm), "training", "non-finite loss at step ", step);
    opt.set_lr(lr_at(o, step, train_s));
    opt.step();
    pos += o.seq;
    tokens += o.seq * o.batch;
    ++step;
    train_s += seconds_since(t0);
    avg = step == 1 ? loss.value().item() : 0.98 * avg + 0.02 * loss.value().item();
    if (train_s >= next_eval || train_s >= o.budget) {
      curve.emplace_back(train_s, evaluate(valid_part));
      std::fprintf(stderr, "%6.0f s  step %6lld  train %.3f bits/char  valid %.3f bits/char  %.0f chars/s\n", train_s,
                   (long long)step, avg / std::log(2.0), curve.back().second, tokens / train_s);
      next_eval += o.eval_every;
    }
  }
  const double test_bpc = evaluate(c.test);
  std::vector<int64_t> prime = c.encode(utf8_decode(o.prime, "--prime"));
  GenResult g = tf ? generate_transformer(*lm, prime, o.gen_length, o.seed + 1)
                   : generate_rnn(*rnn, prime, o.gen_length, o.seed + 1);
  std::string text = o.prime;
  for (int64_t id : g.ids)
    if (id != 0) utf8_append(text, c.chars[static_cast<size_t>(id)]);
  std::fprintf(stderr, "sample:\n%s\n", text.c_str());
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"arch\":\"%s\",\"params\":%lld,\"layers\":%lld,\"hidden\":%lld,\"d_model\":%lld,\"seq_len\":%lld,"
                "\"batch\":%lld,\"lr\":%g,\"budget_s\":%.0f,\"steps\":%lld,\"train_chars_per_s\":%.1f,"
                "\"test_bits_per_char\":%.4f,\"gen_ms_per_token\":%.4f,\"gen_ms_per_token_recompute\":%.4f,\"threads\":%d,",
                o.arch.c_str(), (long long)model.num_parameters(), (long long)o.layers, (long long)(tf ? 0 : o.hidden),
                (long long)(tf ? o.d_model : 0), (long long)o.seq, (long long)o.batch, o.lr, o.budget, (long long)step,
                tokens / train_s, test_bpc, g.ms_per_token, g.ms_per_token_recompute, num_threads());
  const std::string line = std::string(buf) + "\"valid_curve\":" + json_curve(curve) + "}";
  std::printf("%s\n", line.c_str());
  if (!o.json.empty()) {
    std::ofstream f(o.json);
    RC_CHECK(f.good(), o.json, "cannot write the JSON result");
    f << line << "\n";
    std::ofstream(o.json + ".sample.txt") << text << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lm_compare: train an RNN or transformer character LM for a time budget and measure it"};
  Options o;
  app.add_option("--arch", o.arch, "lstm, gru (any cell name) or transformer");
  app.add_option("--data", o.data, "UTF-8 text file")->check(CLI::ExistingFile);
  app.add_option("--hidden", o.hidden, "RNN hidden size")->check(CLI::PositiveNumber);
  app.add_option("--embed", o.embed, "RNN embedding size")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers)->check(CLI::PositiveNumber);
  app.add_option("--d-model", o.d_model)->check(CLI::PositiveNumber);
  app.add_option("--heads", o.heads)->check(CLI::PositiveNumber);
  app.add_option("--ff", o.ff)->check(CLI::PositiveNumber);
  app.add_option("--seq-len", o.seq, "BPTT chunk (rnn) and context (transformer)")->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch)->check(CLI::PositiveNumber);
  app.add_option("--time-budget", o.budget, "training seconds (evaluation excluded)")->check(CLI::PositiveNumber);
  app.add_option("--lr", o.lr, "peak Adam step size")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "linear warm-up steps");
  app.add_option("--clip", o.clip)->check(CLI::PositiveNumber);
  app.add_option("--dropout", o.dropout);
  app.add_option("--eval-every", o.eval_every, "training seconds between validation points")->check(CLI::PositiveNumber);
  app.add_option("--gen-length", o.gen_length)->check(CLI::PositiveNumber);
  app.add_option("--prime", o.prime);
  app.add_option("--seed", o.seed);
  app.add_option("--threads", o.threads)->check(CLI::Range(1, 1024));
  app.add_option("--json", o.json, "also write the result line (and the sample) here");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const Error& e) {
    std::fprintf(stderr, "lm_compare: error: %s\n", e.what());
    return 1;
  }
}
