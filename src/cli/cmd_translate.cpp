// recurrent translate --model DIR [--beam K] [--attention-out F.csv] — translate stdin lines.
//
// Each input line is one source sentence; each output line its translation (target words joined by
// spaces; lower-cased, as the model's vocabulary). --attention-out writes the attention weights of
// the FIRST input line as CSV: a header row "target\source" then the source tokens, and one row per
// output token (the last is <eos>) with its weights over the source tokens (rows sum to 1).
// scripts/seq2seq/plot_attention.py draws that file as a heat map.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/tasks/seq2seq.h"

namespace recurrent::cli {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void write_attention(const tasks::Seq2SeqModel& m, const std::string& source, const tasks::Translation& t,
                     const std::string& path) {
  RC_CHECK(m.config().attention != tasks::AttentionKind::none, "--attention-out", "the model has no attention (--attention none)");
  std::vector<std::string> src = tasks::seq2seq_tokens(source, "stdin:1");
  if (src.empty()) src.push_back("<unk>");
  std::string out = "target\\source";
  for (const std::string& s : src) out += "," + csv_field(s);
  out += "\n";
  for (size_t i = 0; i < t.attention.size(); ++i) {
    out += csv_field(i < t.ids.size() ? m.config().tgt.token(t.ids[i]) : "<eos>");
    for (float a : t.attention[i]) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ",%.6f", a);
      out += buf;
    }
    out += "\n";
  }
  io::write_file_atomic(path, out);
}

}  // namespace

void add_translate(CLI::App& app) {
  struct Args {
    std::string model, attention_out;
    tasks::DecodeOptions d;
    int64_t batch = 64;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("translate", "translate stdin lines with an encoder-decoder model (train seq2seq)");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required()->check(checked("path"));
  c->add_option("--beam", a->d.beam, "beam width (1: greedy)")->capture_default_str()->check(checked("positive"));
  c->add_option("--max-len", a->d.max_len, "longest translation in words (0: 2 x source length + 10)")->capture_default_str()->check(checked("count"));
  c->add_option("--length-penalty", a->d.length_penalty, "beam: rank finished hypotheses by log p / length^alpha")
      ->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--batch", a->batch, "sentences decoded together (greedy)")->capture_default_str()->check(checked("positive"));
  c->add_option("--attention-out", a->attention_out, "write the first line's attention weights to this CSV")->check(checked("text"));
  c->callback([a] {
    auto m = tasks::load_seq2seq(a->model);
    RC_CHECK(a->attention_out.empty() || m->config().arch == "rnn", "--attention-out", "only for --arch rnn models (a "
             "transformer has one attention per layer and head, not one alignment)");
    std::vector<std::string> lines;
    std::vector<std::vector<int64_t>> src;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      src.push_back(m->encode_source(line, "stdin:" + std::to_string(lines.size() + 1)));
      lines.push_back(line);
    }
    a->d.keep_attention = !a->attention_out.empty();
    const std::vector<tasks::Translation> tr = tasks::translate(*m, src, a->d, a->batch);
    for (const tasks::Translation& t : tr) std::printf("%s\n", m->render(t.ids).c_str());
    std::fflush(stdout);
    if (!a->attention_out.empty()) {
      RC_CHECK(!tr.empty(), "--attention-out", "no input line to take the attention of");
      write_attention(*m, lines[0], tr[0], a->attention_out);
    }
  });
}

}  // namespace recurrent::cli
