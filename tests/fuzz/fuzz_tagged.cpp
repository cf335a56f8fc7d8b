// libFuzzer harness: tagged sentences (data/tagged_text.h), CoNLL and word/tag, detected and forced.
#include "fuzz_util.h"
#include "recurrent/data/tagged_text.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  for (data::TagFormat f : {data::TagFormat::detect, data::TagFormat::conll, data::TagFormat::slash})
    RECURRENT_FUZZ_EXPECT_ERRORS({
      const data::TaggedSet set = data::parse_tagged(text, "fuzz.conll", f);
      for (const data::TaggedSentence& s : set.items)
        if (s.words.size() != s.tags.size() || s.words.empty()) fuzz::fail("s.words.size() != s.tags.size() || s.words.empty()");
      (void)set.tokens();
      data::check_tagged(set, "training data");
    });
  return 0;
}
