// char_lm — the README's demo job until `recurrent train lm` lands: a character-level LSTM
// language model trained on a real text (default: Moby Dick), with truncated BPTT, Adam and
// gradient clipping; prints held-out bits per character and a sample.
//
//   embedding [V, E] → RNN stack (any cell) → linear [V, R] → softmax cross-entropy
//   data: code points; 90/5/5 contiguous split; the training stream cut into B rows, chunks of
//   seq_len steps, hidden state carried across chunks (detached: gradients stop at chunk edges).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/data/text_file.h"
#include "recurrent/data/utf8.h"
#include "recurrent/nn/rnn.h"
#include "recurrent/optim/adam.h"
#include "recurrent/optim/clip.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

struct CharLM : Module {
  Var emb, head_w, head_b;
  std::shared_ptr<RNN> rnn;
  CharLM(int64_t V, int64_t E, RNNOptions o, Rng& rng) {
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
  // ids: T*B time-major → logits [T, B, V]
  Var forward(const std::vector<int64_t>& ids, int64_t T, int64_t B, RNNState& state) {
    Var x = embedding(emb, ids, {T, B});
    RNNOutput out = rnn->forward(x, {}, state);
    state = {};
    for (auto& h : out.final_state.h) state.h.push_back(h.detach());
    for (auto& c : out.final_state.c) state.c.push_back(c.defined() ? c.detach() : Var());
    return linear(out.output, head_w, head_b);
  }
};

// Rows × columns view of a stream: row r is the contiguous block [r*len, (r+1)*len).
std::vector<int64_t> chunk(const std::vector<int64_t>& s, int64_t B, int64_t start, int64_t T, int64_t off) {
  const int64_t len = static_cast<int64_t>(s.size()) / B;
  std::vector<int64_t> ids(T * B);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) ids[t * B + b] = s[b * len + start + t + off];
  return ids;
}

double evaluate(CharLM& m, const std::vector<int64_t>& s, int64_t B, int64_t T) {
  NoGradGuard ng;
  m.eval();
  RNNState st;
  const int64_t len = static_cast<int64_t>(s.size()) / B;
  double nats = 0.0;
  int64_t n = 0;
  for (int64_t start = 0; start + T + 1 <= len; start += T) {
    Var logits = m.forward(chunk(s, B, start, T, 0), T, B, st);
    Var loss = cross_entropy(logits, chunk(s, B, start, T, 1));
    nats += loss.value().item() * T * B;
    n += T * B;
  }
  m.train();
  return nats / std::max<int64_t>(n, 1) / std::log(2.0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"char_lm: train a character-level RNN language model on a text file"};
  std::string data = "data/moby-dick/moby-dick.txt", cell = "lstm", prime = "Call me ";
  int64_t hidden = 256, layers = 1, embed = 64, seq = 64, batch = 32, sample_len = 300;
  double budget = 120, lr = 2e-3, clip = 5.0;
  uint64_t seed = 1;
  int threads = 0;
  app.add_option("--data", data, "UTF-8 text file")->check(CLI::ExistingFile);
  app.add_option("--cell", cell, "recurrent cell");
  app.add_option("--hidden", hidden)->check(CLI::PositiveNumber);
  app.add_option("--layers", layers)->check(CLI::PositiveNumber);
  app.add_option("--embed", embed)->check(CLI::PositiveNumber);
  app.add_option("--seq-len", seq)->check(CLI::PositiveNumber);
  app.add_option("--batch", batch)->check(CLI::PositiveNumber);
  app.add_option("--time-budget", budget, "training seconds")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr)->check(CLI::PositiveNumber);
  app.add_option("--clip", clip)->check(CLI::PositiveNumber);
  app.add_option("--seed", seed);
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--prime", prime);
  app.add_option("--sample-length", sample_len);
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    std::u32string text = read_utf8_file(data);
    const size_t n = text.size(), n_train = n * 9 / 10, n_valid = n / 20;
    RC_CHECK(n_train > static_cast<size_t>(batch * (seq + 1)), data, "text too short for batch × seq-len");
    std::map<char32_t, int64_t> vocab{{U'\0', 0}};  // id 0: characters unseen in training
    for (size_t i = 0; i < n_train; ++i) vocab.emplace(text[i], 0);
    std::vector<char32_t> chars;
    for (auto& [c, id] : vocab) id = static_cast<int64_t>(chars.size()), chars.push_back(c);
    auto encode = [&](size_t a, size_t b) {
      std::vector<int64_t> ids;
      for (size_t i = a; i < b; ++i) {
        auto it = vocab.find(text[i]);
        ids.push_back(it == vocab.end() ? 0 : it->second);
      }
      return ids;
    };
    std::vector<int64_t> train = encode(0, n_train), test = encode(n_train + n_valid, n);
    const int64_t V = static_cast<int64_t>(chars.size());
    std::printf("data %s: %zu chars, vocabulary %lld, train %zu, test %zu\n", data.c_str(), n, (long long)V,
                train.size(), test.size());

    Rng rng(seed);
    RNNOptions o = RNNOptions::uniform(parse_cell(cell), embed, hidden, layers);
    CharLM model(V, embed, o, rng);
    AdamOptions ao;
    ao.lr = lr;
    Adam opt(model.parameters(), ao);
    const int64_t row_len = static_cast<int64_t>(train.size()) / batch;
    RNNState st;
    int64_t step = 0, pos = 0, tokens = 0;
    double avg = 0.0;
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    while (elapsed() < budget) {
      if (pos + seq + 1 > row_len) pos = 0, st = {};
      Var logits = model.forward(chunk(train, batch, pos, seq, 0), seq, batch, st);
      Var loss = cross_entropy(logits, chunk(train, batch, pos, seq, 1));
      model.zero_grad();
      loss.backward();
      float norm = clip_grad_norm(model.parameters(), clip);
      RC_CHECK(std::isfinite(loss.value().item()) && std::isfinite(norm), "training",
               "non-finite loss or gradient at step ", step);
      opt.step();
      pos += seq;
      tokens += seq * batch;
      avg = step == 0 ? loss.value().item() : 0.98 * avg + 0.02 * loss.value().item();
      if (++step % 50 == 0)
        std::printf("step %5lld  loss %.3f nats (%.3f bits/char)  %.0f chars/s\n", (long long)step, avg,
                    avg / std::log(2.0), tokens / elapsed());
      std::fflush(stdout);
    }
    const double train_s = elapsed();
    std::printf("trained %lld steps in %.0f s (%.0f chars/s)\n", (long long)step, train_s, tokens / train_s);
    std::fflush(stdout);
    double bpc = evaluate(model, test, 64, 100);
    std::printf("test: %.3f bits/char on %zu held-out characters\n", bpc, test.size());

    NoGradGuard ng;  // sampling: one character at a time, state carried, temperature 0.8
    model.eval();
    RNNState s;
    std::string out = prime;
    std::vector<int64_t> ids = encode(0, 0);
    for (char32_t c : utf8_decode(prime, "--prime")) ids.push_back(vocab.count(c) ? vocab[c] : 0);
    Var logits;
    for (int64_t id : ids) logits = model.forward({id}, 1, 1, s);
    Rng sr(seed + 1);
    for (int64_t i = 0; i < sample_len; ++i) {
      std::vector<float> l = logits.value().to_vector();
      float mx = *std::max_element(l.begin(), l.end());
      double z = 0;
      for (float& v : l) v = std::exp((v - mx) / 0.8f), z += v;
      double u = sr.uniform() * z;
      int64_t k = 0;
      while (k + 1 < V && (u -= l[k]) > 0) ++k;
      if (k != 0) utf8_append(out, chars[k]);
      logits = model.forward({k}, 1, 1, s);
    }
    std::printf("sample (temperature 0.8):\n%s\n", out.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "char_lm: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
