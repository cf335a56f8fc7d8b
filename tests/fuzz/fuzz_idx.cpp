// libFuzzer harness: IDX files, plain or gzipped (data/idx.h), read from a scratch file as the
// reader takes a path; any dimension count, then as images (3) and as labels (1).
#include "fuzz_util.h"
#include "recurrent/core/limits.h"
#include "recurrent/data/idx.h"

using namespace recurrent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchFile file("fuzz-idx");
  // What a small gzip may inflate to, held well under the harness's 2 GiB RSS limit (core/limits.h).
  static const bool limited = (set_max_input_bytes(uint64_t{256} << 20), true);
  (void)limited;
  const std::string& path = file.write(data, size);
  for (int ndim : {0, 3, 1})
    RECURRENT_FUZZ_EXPECT_ERRORS({
      const data::IdxArray a = data::read_idx(path, ndim);
      uint64_t n = 1;
      for (int64_t d : a.dims) n *= static_cast<uint64_t>(d);
      if (n != a.data.size()) fuzz::fail("n != a.data.size()");
    });
  return 0;
}
