// libFuzzer harness: labelled text (data/labeled_text.h) in every format — detected from the
// content (TSV, JSONL, JSON array) and forced — then the label vocabulary and fold split.
#include "fuzz_util.h"
#include "recurrent/data/labeled_text.h"

using namespace recurrent;

namespace {

void use(const data::LabeledSet& set) {
  data::check_classes(set, "training data");
  const data::LabelSet labels = data::LabelSet::from(set);
  (void)labels.ids(set);
  auto [a, b] = data::split_folds(set, 5, 4);
  (void)data::concat_sets({a, b}, "both");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  for (data::TextFormat f : {data::TextFormat::detect, data::TextFormat::tsv, data::TextFormat::jsonl,
                             data::TextFormat::json_array})
    RECURRENT_FUZZ_EXPECT_ERRORS(use(data::parse_labeled(text, "fuzz.tsv", f)));
  return 0;
}
