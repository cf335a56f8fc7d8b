// IDX reader (data/idx.h) on small crafted files, plain and gzipped: dimensions and bytes read back,
// and one-line errors naming the file and what was expected for bad magic, type, dimensions,
// truncation (header, data, gzip stream) and trailing bytes; image/label count mismatch.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"
#include "recurrent/data/idx.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// An IDX file of unsigned bytes with the given sizes; data byte i = (7·i + 3) mod 256.
Bytes idx_bytes(const std::vector<uint32_t>& dims, uint8_t type = 0x08) {
  Bytes b{0, 0, type, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    b.insert(b.end(), {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)});
    n *= d;
  }
  for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>((7 * i + 3) % 256));
  return b;
}

Bytes gzip(const Bytes& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, in.size()) + 32);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class Idx : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("recurrent_idx_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                              "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const Bytes& b) {
    const std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
  }
};

TEST_F(Idx, PlainAndGzippedReadTheSameDimsAndBytes) {
  const Bytes raw = idx_bytes({3, 2, 5});
  for (const std::string& p : {write("a.idx", raw), write("a.idx.gz", gzip(raw))}) {
    SCOPED_TRACE(p);
    IdxArray a = read_idx(p, 3);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 5}));
    ASSERT_EQ(a.data.size(), 30u);
    for (size_t i = 0; i < 30; ++i) ASSERT_EQ(a.data[i], (7 * i + 3) % 256) << i;
  }
  EXPECT_EQ(read_maybe_gzip(write("b.gz", gzip(raw))), raw);
}

TEST_F(Idx, ImageSetPairsImagesWithLabels) {
  Bytes labels = idx_bytes({4});
  for (size_t i = 8; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i - 8) % 3;  // 0 1 2 0
  ImageSet s = read_image_set(write("im.gz", gzip(idx_bytes({4, 2, 3}))), write("lb", labels));
  EXPECT_EQ(s.n, 4);
  EXPECT_EQ(s.rows, 2);
  EXPECT_EQ(s.cols, 3);
  EXPECT_EQ(s.pixels.size(), 24u);
  EXPECT_EQ(s.labels, (std::vector<uint8_t>{0, 1, 2, 0}));
  EXPECT_EQ(s.classes, 3);
}

TEST_F(Idx, MalformedFilesNameTheFileAndWhatWasExpected) {
  Bytes bad_magic = idx_bytes({2});
  bad_magic[0] = 0x50;
  std::string e = error_of([&] { read_idx(write("magic.idx", bad_magic)); });
  EXPECT_NE(e.find("magic.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("bad IDX magic"), std::string::npos) << e;

  e = error_of([&] { read_idx(write("float.idx", idx_bytes({2}, 0x0D))); });
  EXPECT_NE(e.find("only unsigned bytes"), std::string::npos) << e;

  e = error_of([&] { read_idx(write("labels.idx", idx_bytes({5})), 3); });
  EXPECT_NE(e.find("labels.idx: IDX file with 1 dimensions, expected 3"), std::string::npos) << e;

  Bytes cut = idx_bytes({4, 2, 2});
  cut.resize(cut.size() - 3);
  e = error_of([&] { read_idx(write("cut.idx", cut)); });
  EXPECT_NE(e.find("truncated IDX data: 13 bytes after the header, expected 16"), std::string::npos) << e;

  e = error_of([&] { read_idx(write("head.idx", Bytes{0, 0, 8, 3, 0, 0, 0, 1})); });
  EXPECT_NE(e.find("truncated IDX header: 8 bytes, expected 16"), std::string::npos) << e;

  Bytes extra = idx_bytes({2});
  extra.push_back(9);
  e = error_of([&] { read_idx(write("extra.idx", extra)); });
  EXPECT_NE(e.find("1 bytes after its 2 data bytes"), std::string::npos) << e;

  e = error_of([&] { read_idx(write("tiny.idx", Bytes{0, 0})); });
  EXPECT_NE(e.find("at least the 4-byte magic"), std::string::npos) << e;

  e = error_of([&] { read_idx((dir / "missing.idx").string()); });
  EXPECT_NE(e.find("missing.idx: cannot open"), std::string::npos) << e;
}

TEST_F(Idx, TruncatedGzipIsAnErrorNotShortData) {
  Bytes gz = gzip(idx_bytes({50, 10, 10}));
  gz.resize(gz.size() / 2);
  const std::string e = error_of([&] { read_idx(write("half.gz", gz)); });
  EXPECT_NE(e.find("half.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST_F(Idx, ImageAndLabelCountsMustAgree) {
  const std::string e = error_of([&] { read_image_set(write("im", idx_bytes({3, 2, 2})), write("lb", idx_bytes({4}))); });
  EXPECT_NE(e.find("lb: 4 labels, but"), std::string::npos) << e;
  EXPECT_NE(e.find("holds 3 images"), std::string::npos) << e;
}

}  // namespace

// A gzip bomb (a small file that inflates past the input limit) is refused while it inflates, naming
// the file and the limit, not read until memory runs out. The limit is lowered here to 1 MiB so the
// test stays small; the default is core/limits.h's kMaxInputBytes.
TEST_F(Idx, InflatingPastTheInputLimitIsRefused) {
  const uint64_t was = max_input_bytes();
  set_max_input_bytes(1 << 20);
  const Bytes zeros((3 << 20), 0);
  const std::string p = write("bomb.idx.gz", gzip(zeros));
  EXPECT_LT(fs::file_size(p), 64u << 10) << "a small file";
  const std::string e = error_of([&] { read_maybe_gzip(p); });
  set_max_input_bytes(was);
  EXPECT_NE(e.find("bomb.idx.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("inflated data of"), std::string::npos) << e;
  EXPECT_NE(e.find("over the 1.00 MiB limit"), std::string::npos) << e;
}
