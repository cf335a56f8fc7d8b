// libFuzzer harness: a checkpoint's model configuration (its recurrent.config JSON) as every task reads
// it — each task's Config::from_json. What one accepts must write back (to_json) to a text that reads to
// the same text, and must build its model: an Error is the only way out. Models are built only from
// configurations whose numbers are all ≤ 64 (sizes, layer counts), so that one input stays a few MB
// whatever it asks for; a storage past 16 MiB is refused by the allocation limit (core/memory.h), as
// the CLI refuses one past the machine's memory.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "fuzz_util.h"
#include "recurrent/core/memory.h"
#include "recurrent/core/rng.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/esn.h"
#include "recurrent/tasks/forecast.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_transformer.h"
#include "recurrent/tasks/music.h"
#include "recurrent/tasks/seq2seq.h"
#include "recurrent/tasks/tag.h"

using namespace recurrent;

namespace {

// Every number in `j` is at most `most` in size (and every array at most `most` long).
bool small(const nlohmann::json& j, double most) {
  if (j.is_number()) return !(j.get<double>() > most || j.get<double>() < -most);
  if (j.is_array() && j.size() > static_cast<size_t>(most) && !j.empty() && !j.front().is_string()) return false;
  if (j.is_structured())
    for (const auto& e : j)
      if (!small(e, most)) return false;
  return true;
}

template <class Config, class Build>
void one(const std::string& text, Build build) {
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const Config c = Config::from_json(text, "config.json");
    const std::string back = c.to_json();
    const std::string again = Config::from_json(back, "written").to_json();
    if (again != back) fuzz::fail("to_json(from_json(to_json(c))) != to_json(c)");
    if (!small(nlohmann::json::parse(back), 64)) return;
    Rng rng(1);
    try {
      build(c, rng);
    } catch (const OutOfMemory&) {
    }
  });
}

template <class Model>
auto plain() {
  return [](const auto& c, Rng& rng) { (void)std::make_unique<Model>(c, rng); };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool limited = (set_allocation_limit(size_t{16} << 20), true);
  (void)limited;
  const std::string text(fuzz::as_text(data, size));
  one<tasks::LmConfig>(text, plain<tasks::LanguageModel>());
  one<tasks::TransformerLmConfig>(text, plain<tasks::TransformerLanguageModel>());
  one<tasks::ClassifierConfig>(text, plain<tasks::TextClassifier>());
  one<tasks::TaggerConfig>(text, plain<tasks::Tagger>());
  one<tasks::ForecastConfig>(text, plain<tasks::Forecaster>());
  one<tasks::CondLmConfig>(text, plain<tasks::CondLanguageModel>());
  one<tasks::MusicConfig>(text, plain<tasks::MusicModel>());
  one<tasks::AsrConfig>(text, plain<tasks::AsrModel>());
  one<tasks::EsnConfig>(text, plain<tasks::EchoStateNetwork>());
  one<tasks::Seq2SeqConfig>(text, [](const tasks::Seq2SeqConfig& c, Rng& rng) { (void)tasks::make_seq2seq(c, rng); });
  RECURRENT_FUZZ_EXPECT_ERRORS({  // the LM loader's own dispatch on "arch"
    Rng rng(1);
    if (!small(nlohmann::json::parse(text, nullptr, false), 64)) return 0;
    try {
      (void)tasks::make_lm(text, "config.json", rng);
    } catch (const OutOfMemory&) {
    }
  });
  return 0;
}
