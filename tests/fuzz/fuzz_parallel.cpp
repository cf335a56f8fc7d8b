// libFuzzer harness: parallel text (data/parallel_text.h), the `source<TAB>target` pairs of
// `train seq2seq` and `translate`.
#include "fuzz_util.h"
#include "recurrent/data/parallel_text.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const data::ParallelSet set = data::parse_parallel(fuzz::as_text(data, size), "fuzz.tsv");
    for (const data::TextPair& p : set.pairs)
      if (p.source.empty() || p.target.empty() || p.line < 1) fuzz::fail("p.source.empty() || p.target.empty() || p.line < 1");
  });
  return 0;
}
