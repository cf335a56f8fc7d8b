// libFuzzer harness: UTF-8 text and the language-model corpus path (data/utf8.h, vocab.h,
// lm_batches.h) as `train lm` runs it: decode strictly, split 90/5/5, build the char and word
// vocabularies, encode, cut into batches; and re-encode what was decoded (round trip).
#include "fuzz_util.h"
#include "recurrent/data/lm_batches.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"

using namespace recurrent;

namespace {

void batches(const data::Vocab& v, std::u32string_view text) {
  const std::vector<int64_t> s = v.encode(text);
  for (int64_t id : s) (void)v.render(id);
  data::LmBatcher b(s, 2, 3, static_cast<int64_t>(s.size() % 3), "fuzz.txt");
  for (int64_t k = 0; k < b.num_chunks(); ++k) (void)b.chunk(k);
}

void corpus(std::string_view bytes) {
  const std::u32string text = data::utf8_decode(bytes, "fuzz.txt");
  if (data::utf8_encode(text) != bytes) fuzz::fail("data::utf8_encode(text) != bytes");  // strict decoding round-trips exactly
  for (bool words : {false, true}) {
    RECURRENT_FUZZ_EXPECT_ERRORS({
      const data::TextSplit sp = data::split_text(text, 0.9, 0.05, words, "fuzz.txt");
      data::WordVocabOptions wo;
      wo.min_count = 1 + static_cast<int64_t>(bytes.size() % 2), wo.max_size = bytes.size() % 7, wo.lower = true;
      const data::Vocab v = words ? data::Vocab::build_words(sp.train, wo) : data::Vocab::build_chars(sp.train);
      const data::Vocab again(v.level(), v.tokens(), v.lower());  // as loaded from a checkpoint
      RECURRENT_FUZZ_EXPECT_ERRORS(batches(again, sp.valid));
      RECURRENT_FUZZ_EXPECT_ERRORS(batches(v, sp.train));
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS(corpus(fuzz::as_text(data, size)));
  return 0;
}
