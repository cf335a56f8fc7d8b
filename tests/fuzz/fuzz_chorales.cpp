// libFuzzer harness: chorale JSON (data/chorales.h) → piano rolls, and rolls back to pitches.
#include "fuzz_util.h"
#include "recurrent/data/chorales.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS({
    const data::ChoraleSet set = data::parse_chorales(std::string(fuzz::as_text(data, size)), "fuzz.json");
    for (data::ChoraleSplit s : {data::ChoraleSplit::train, data::ChoraleSplit::valid, data::ChoraleSplit::test}) {
      (void)set.steps(s);
      for (const Tensor& roll : set.part(s)) {
        const auto steps = data::roll_pitches(roll);
        if (static_cast<int64_t>(steps.size()) != roll.shape()[0]) fuzz::fail("static_cast<int64_t>(steps.size()) != roll.shape()[0]");
      }
    }
  });
  return 0;
}
