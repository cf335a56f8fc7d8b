// recurrent transcribe — spoken digits to text with a speech model (train asr; tasks/asr.h), and the
// speech model's part of `recurrent eval`.
//
//   recurrent transcribe --model DIR FILE.wav [--timestamps] [--beam 8]
//     prints the digits ("3 1 4"); --timestamps adds one line per digit: digit, start and end seconds
//     (the CTC forced alignment of the answer). A classifier prints its digit and probability.
//   recurrent transcribe --model DIR --stream [--chunk-ms 100] < audio.s16le
//     reads raw PCM (signed 16-bit little-endian mono at the model's rate) from stdin in chunks and prints
//     "partial T s: DIGITS" each time the answer grows, then the final answer. Unidirectional CTC models
//     only: a bidirectional model is refused with the reason.
//   recurrent eval --model DIR --data FSDD_DIR|CONNECTED_DIR [--json]
//     the test part the model was trained with (rebuilt from the FSDD folder and the model's record), or
//     a folder of connected digits with labels.tsv: WER, CER, sentence accuracy, real-time factor and
//     digit latency (streaming for unidirectional CTC models).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/audio/wav.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/asr.h"

namespace recurrent::cli {

namespace {

struct TranscribeArgs {
  std::string model, file, posteriors;
  bool timestamps = false, stream = false;
  int64_t beam = 1;
  double chunk_ms = 100;
};

// CSV: step, time (s, the step's start), blank, then p(digit 0..9): the CTC posteriors (the spikes).
void write_posteriors(const std::string& path, const tasks::AsrResult& r) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  RC_CHECK(f != nullptr, "--posteriors", "cannot write ", path);
  std::fprintf(f, "step,time,blank,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9\n");
  const Tensor lp = r.log_probs.contiguous();
  for (int64_t t = 0; t < lp.size(0); ++t) {
    std::fprintf(f, "%lld,%.3f", static_cast<long long>(t), t * r.step_seconds);
    for (int64_t c = 0; c < lp.size(1); ++c) std::fprintf(f, ",%.5g", std::exp(double(lp.data()[t * lp.size(1) + c])));
    std::fprintf(f, "\n");
  }
  RC_CHECK(std::fclose(f) == 0, "--posteriors", "write failed: ", path);
}

void transcribe_file(tasks::AsrModel& m, const TranscribeArgs& a) {
  const int rate = m.config().front_end().sample_rate;
  const bool cls = m.config().kind == tasks::AsrKind::classify;
  RC_CHECK(!cls || (!a.timestamps && a.posteriors.empty() && a.beam == 1), a.timestamps ? "--timestamps"
           : a.beam != 1 ? "--beam" : "--posteriors", "applies to CTC models; this model is an isolated-digit classifier");
  const audio::Audio wav = audio::read_audio(a.file, {.target_rate = rate});
  for (const auto& n : wav.notes) std::fprintf(stderr, "recurrent: note: %s\n", n.c_str());
  if (m.per_speaker())
    std::fprintf(stderr, "recurrent: note: this model normalises by the speaker's statistics; from one file they are "
                 "the file's own (eval --data DIR groups a folder by speaker)\n");
  const tasks::AsrResult r = tasks::recognize(m, m.features_alone(wav.samples, a.file), a.beam, a.timestamps);
  if (m.config().kind == tasks::AsrKind::classify) {
    std::printf("%d\t%.4f\n", r.digits.at(0), r.confidence);
    return;
  }
  std::printf("%s\n", tasks::digits_text(r.digits).c_str());
  if (a.timestamps)
    for (size_t i = 0; i < r.digits.size(); ++i) std::printf("%d\t%.2f\t%.2f\n", r.digits[i], r.start_s[i], r.end_s[i]);
  if (!a.posteriors.empty()) write_posteriors(a.posteriors, r);
}

void transcribe_stream(tasks::AsrModel& m, const TranscribeArgs& a) {
  tasks::AsrStream s(m);  // refuses classifiers and bidirectional models, with the reason
  const int rate = m.config().front_end().sample_rate;
  const size_t chunk = std::max<size_t>(1, static_cast<size_t>(a.chunk_ms * rate / 1000.0));
  std::vector<int16_t> pcm(chunk);
  std::vector<float> x;
  size_t shown = 0, odd = 0;
  for (;;) {
    const size_t got = std::fread(pcm.data(), 1, chunk * 2, stdin);
    odd = got % 2;
    const size_t n = got / 2;
    x.resize(n);
    for (size_t i = 0; i < n; ++i) x[i] = pcm[i] / 32768.0f;  // as libsndfile reads 16-bit PCM
    const std::vector<int>& d = n > 0 ? s.push(x.data(), n) : s.digits();
    if (d.size() != shown) {
      std::printf("partial %.2f s: %s\n", double(s.samples_in()) / rate, tasks::digits_text(d).c_str());
      std::fflush(stdout);
      shown = d.size();
    }
    if (got < chunk * 2) break;
  }
  RC_CHECK(odd == 0, "stdin", "an odd number of bytes: expected signed 16-bit little-endian samples (s16le)");
  RC_CHECK(s.samples_in() > 0, "stdin", "no audio: expected raw s16le PCM at ", rate, " Hz");
  std::printf("%s\n", tasks::digits_text(s.finish()).c_str());
}

}  // namespace

void eval_asr(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_asr_model(model);
  const std::vector<tasks::AsrItem> items = tasks::load_asr_eval_items(*m, data);
  RC_CHECK(!items.empty(), data, "no utterances to evaluate");
  const tasks::AsrEval e = tasks::evaluate_asr(*m, items);
  check_finite(e.loss, "loss", {{m.get(), model}});
  const bool ctc = m->config().kind == tasks::AsrKind::ctc;
  if (json) {
    std::printf("%s\n", tasks::asr_eval_json(e, ctc).c_str());
    return;
  }
  if (ctc)
    std::printf("WER %.2f%%  CER %.2f%%  sentence accuracy %.2f%% on %lld utterances (%lld digits)\n", 100 * e.wer,
                100 * e.cer, 100 * e.sentence_accuracy, static_cast<long long>(e.utterances),
                static_cast<long long>(e.words));
  else
    std::printf("accuracy %.2f%% on %lld utterances\n", 100 * e.sentence_accuracy, static_cast<long long>(e.utterances));
  if (ctc && e.latency.digits > 0)
    std::printf("latency (%s): median %.0f ms, mean %.0f ms, p90 %.0f ms after the end of a digit\n",
                e.latency.mode.c_str(), e.latency.median_ms, e.latency.mean_ms, e.latency.p90_ms);
}

void add_transcribe(CLI::App& app) {
  auto a = std::make_shared<TranscribeArgs>();
  CLI::App* c = app.add_subcommand("transcribe", "spoken digits to text with a speech model (train asr): a file, "
                                   "or raw PCM on stdin with --stream");
  c->add_option("--model", a->model, "model directory (best.safetensors, else last) or file")->required()
      ->check(checked("path"));
  c->add_option("file", a->file, "audio file (WAV, FLAC, ...; resampled to the model's rate)")->check(checked("file"));
  c->add_flag("--timestamps", a->timestamps, "one line per digit: digit, start and end in seconds (CTC alignment)");
  c->add_option("--posteriors", a->posteriors, "CTC model: write each step's posteriors (blank, digits 0-9) "
                "to this CSV")->check(checked("text"));
  c->add_option("--beam", a->beam, "prefix beam search width (1: greedy)")->capture_default_str()
      ->check(checked("positive"));
  c->add_flag("--stream", a->stream, "read raw s16le mono PCM at the model's rate from stdin, printing partial "
              "results as audio arrives (unidirectional models)");
  c->add_option("--chunk-ms", a->chunk_ms, "--stream: milliseconds of audio read at a time")->capture_default_str()
      ->check(checked("positive-real"));
  c->callback([a, c] {
    RC_CHECK(a->stream || !a->file.empty(), "file", "expected an audio file to transcribe (or --stream for stdin)");
    RC_CHECK(!a->stream || a->file.empty(), "--stream", "reads stdin: give no file with it");
    RC_CHECK(!a->stream || !a->timestamps, "--timestamps", "applies to a file, not to --stream");
    RC_CHECK(a->stream || c->count("--chunk-ms") == 0, "--chunk-ms", "applies to --stream");
    RC_CHECK(!a->stream || a->posteriors.empty(), "--posteriors", "applies to a file, not to --stream");
    auto m = tasks::load_asr_model(a->model);
    if (a->stream) return transcribe_stream(*m, *a);
    transcribe_file(*m, *a);
  });
}

}  // namespace recurrent::cli
