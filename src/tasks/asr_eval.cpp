// Evaluation of a speech model: loss, WER / CER / sentence accuracy, and the latency of each digit
// (contract in tasks/asr.h).
//
// Latency of digit j of an utterance (its audio ends at sample e_j), on correctly recognised utterances:
//   streaming (unidirectional CTC): audio pushed in chunks of chunk_ms; digit j first appears after the
//     push that brought the stream to n samples: latency = (n − e_j)/rate + that push's compute time;
//   whole utterance (bidirectional, or any model used offline): the answer comes once all N samples are
//     in and processed: latency = (N − e_j)/rate + the whole utterance's compute time (features, RNN,
//     decoding).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recurrent/autograd/ctc.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/tasks/ctc_decode.h"
#include "recurrent/tasks/error_rate.h"

namespace recurrent::tasks {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

LatencyStats summarize(std::vector<double> ms, const std::string& mode, double chunk_ms) {
  LatencyStats s;
  s.mode = mode, s.chunk_ms = chunk_ms;
  s.digits = static_cast<int64_t>(ms.size());
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean_ms = sum / ms.size();
  s.median_ms = ms[ms.size() / 2];
  s.p90_ms = ms[std::min(ms.size() - 1, static_cast<size_t>(0.9 * ms.size()))];
  s.max_ms = ms.back();
  return s;
}

// Appends the latencies of one utterance's digits when it is recognised correctly; returns the
// utterance's compute seconds (all pushes, or the whole-utterance path).
double item_latency(AsrModel& m, const AsrItem& it, double chunk_ms, bool streaming, std::vector<double>& out) {
  const double rate = m.config().front_end().sample_rate;
  const size_t N = it.samples.size();
  if (!streaming) {
    const double t0 = now_s();
    const AsrResult r = recognize(m, m.features(it.samples, it.speaker), 1, false);
    const double sec = now_s() - t0;
    if (r.digits == it.digits)
      for (int64_t e : it.ends) out.push_back(1000.0 * ((double(N) - e) / rate + sec));
    return sec;
  }
  AsrStream s(m);
  const size_t chunk = std::max<size_t>(1, static_cast<size_t>(chunk_ms * rate / 1000.0));
  std::vector<double> seen;  // latency of digit j, once it has appeared
  double total = 0;
  for (size_t a = 0;; a += chunk) {  // the chunks, then finish() (the last frames) once all N are in
    const bool end = a >= N;
    const double t0 = now_s();
    const std::vector<int>& d = end ? s.finish() : s.push(it.samples.data() + a, std::min(chunk, N - a));
    const double sec = now_s() - t0;
    total += sec;
    const double in = static_cast<double>(std::min(N, a + chunk));
    while (seen.size() < d.size() && seen.size() < it.ends.size())
      seen.push_back(1000.0 * ((in - it.ends[seen.size()]) / rate + sec));
    if (end) break;
  }
  if (s.digits() == it.digits && seen.size() == it.ends.size()) out.insert(out.end(), seen.begin(), seen.end());
  return total;
}

}  // namespace

AsrEval evaluate_asr(AsrModel& m, const std::vector<AsrItem>& items, int64_t batch, int64_t beam, double chunk_ms) {
  NoGradGuard ng;
  const bool was_training = m.is_training();
  m.eval();
  const bool ctc = m.config().kind == AsrKind::ctc;
  AsrEval e;
  std::vector<std::string> refs, hyps;
  double loss = 0, correct = 0;
  for (size_t a = 0; a < items.size(); a += static_cast<size_t>(batch)) {
    std::vector<size_t> which;
    for (size_t i = a; i < std::min(items.size(), a + batch); ++i) which.push_back(i);
    const AsrBatch b = asr_batch(items, which, m.config().stack);
    const Var logits = m.forward(b.x, b.lengths);
    if (!ctc) {
      CrossEntropyOptions o;
      o.reduction = Reduction::sum;
      loss += cross_entropy(logits, b.labels, o).value().item();
    } else {
      CtcOptions o;
      o.reduction = Reduction::sum;
      o.zero_infinity = true;
      loss += ctc_loss_logits(logits, b.targets, b.lengths, b.target_lengths, o).value().item();
    }
    const Tensor out = (ctc ? log_softmax(logits) : logits).value().contiguous();
    for (size_t j = 0; j < which.size(); ++j) {
      std::vector<int> got;
      if (!ctc) {
        const float* l = out.data() + j * 10;
        got = {static_cast<int>(std::max_element(l, l + 10) - l)};
      } else {
        const FrameView fv = frames_of(out, static_cast<int64_t>(j), b.lengths[j]);
        BeamOptions bo;
        bo.beam = beam;
        const std::vector<int64_t> toks = beam <= 1 ? greedy_decode(fv).tokens : prefix_beam_search(fv, bo).at(0).tokens;
        for (int64_t t : toks) got.push_back(static_cast<int>(t - 1));
      }
      const AsrItem& it = items[which[j]];
      correct += got == it.digits;
      refs.push_back(digits_text(it.digits));
      hyps.push_back(digits_text(got));
      e.words += static_cast<int64_t>(it.digits.size());
    }
  }
  e.utterances = static_cast<int64_t>(items.size());
  e.loss = e.utterances ? loss / static_cast<double>(e.utterances) : 0.0;
  e.wer = wer(refs, hyps);
  e.cer = cer(refs, hyps);
  e.sentence_accuracy = e.utterances ? correct / static_cast<double>(e.utterances) : 0.0;
  // Latency and real-time factor on the items that carry their audio (not for a model normalised per
  // speaker: its answer waits for all of the speaker's audio, there is no per-utterance latency).
  const bool streaming = ctc && !m.config().bidirectional && m.norm().finished();  // AsrStream's conditions
  const bool by_speaker = m.per_speaker();  // (parses the front end: once, not per item)
  std::vector<double> ms;
  for (const AsrItem& it : items) {
    if (it.samples.empty() || by_speaker) continue;
    e.audio_seconds += static_cast<double>(it.samples.size()) / m.config().front_end().sample_rate;
    e.decode_seconds += item_latency(m, it, chunk_ms, streaming, ms);
  }
  if (ctc) e.latency = summarize(ms, streaming ? "streaming" : "whole utterance", streaming ? chunk_ms : 0.0);
  m.train(was_training);
  return e;
}

std::string asr_eval_json(const AsrEval& e, bool ctc) {
  nlohmann::json j = {{"utterances", e.utterances}, {"words", e.words}, {"loss", e.loss}, {"wer", e.wer},
                      {"cer", e.cer}, {"sentence_accuracy", e.sentence_accuracy}};
  if (!ctc) j["accuracy"] = e.sentence_accuracy;
  if (e.audio_seconds > 0) j["real_time_factor"] = e.decode_seconds / e.audio_seconds;
  const LatencyStats& l = e.latency;
  if (ctc && l.digits > 0)
    j["latency_ms"] = {{"mode", l.mode}, {"chunk_ms", l.chunk_ms}, {"digits", l.digits}, {"mean", l.mean_ms},
                       {"median", l.median_ms}, {"p90", l.p90_ms}, {"max", l.max_ms}};
  return j.dump();
}

}  // namespace recurrent::tasks
