// libFuzzer harness: safetensors files (io/safetensors.h) — the whole-file reader, the header-only
// reader (`recurrent inspect`), and every accessor on what they accept.
#include <vector>

#include "fuzz_util.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;

namespace {

void use(const io::SafeTensors& st) {
  for (const std::string& name : st.names()) {
    const io::TensorInfo& info = st.info(name);
    (void)info.numel();
    if (!st.has_data()) continue;
    RECURRENT_FUZZ_EXPECT_ERRORS(st.get_f32(name));
    RECURRENT_FUZZ_EXPECT_ERRORS(st.get_i64(name));
    const io::RawTensor raw = st.raw_tensor(name);
    if (raw.bytes.size() != info.nbytes()) fuzz::fail("raw.bytes.size() != info.nbytes()");
  }
  (void)st.metadata_or("format", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RECURRENT_FUZZ_EXPECT_ERRORS(use(io::parse_safetensors_header({data, size}, size, "fuzz.safetensors")));
  RECURRENT_FUZZ_EXPECT_ERRORS(use(io::parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz.safetensors")));
  return 0;
}
