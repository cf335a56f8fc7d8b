// safetensors writer + reader: bit-identical round trips (NaN payloads, -0, subnormals, inf),
// byte-identical re-writes, metadata, empty and 0-d tensors, the writer's layout and its errors;
// and robustness: every truncation and thousands of random corruptions of a valid file either
// read or throw recurrent::Error, never anything else (this binary also runs under ASan + UBSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "io/io_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::io;
using namespace recurrent::testing;

namespace {

float from_bits(uint32_t b) { return std::bit_cast<float>(b); }

// Values whose bits a careless writer or reader would change.
std::vector<float> special_values() {
  return {0.0f,
          -0.0f,
          from_bits(0x00000001),  // smallest subnormal
          from_bits(0x807FFFFF),  // largest negative subnormal
          std::numeric_limits<float>::min(),
          std::numeric_limits<float>::max(),
          -std::numeric_limits<float>::infinity(),
          std::numeric_limits<float>::infinity(),
          from_bits(0x7FC00001),  // quiet NaN with a payload
          from_bits(0xFFA5A5A5),  // negative NaN, another payload
          from_bits(0x7F800001),  // signalling NaN: must not be quietened
          1.0f / 3.0f,
          -1e-30f,
          123456.789f};
}

struct Sample {
  NamedTensors f32;
  NamedI64Tensors i64;
  Metadata meta;
};

Sample sample() {
  Rng rng(42);
  Sample s;
  s.f32.push_back({"special", Tensor::from(special_values(), {2, 7})});
  Tensor w({3, 5});
  rng.fill_normal(w, 0.0f, 1.0f);
  s.f32.push_back({"encoder.layers.0.weight_ih_l0", w});
  s.f32.push_back({"scalar", Tensor::scalar(-2.5f)});      // 0-d
  s.f32.push_back({"empty", Tensor({0})});                  // no elements
  s.f32.push_back({"empty3", Tensor({3, 0, 2})});
  s.f32.push_back({"b", Tensor::from({1, 2, 3}, {3})});
  s.i64.push_back({"lengths", {{4}, {0, -1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}}});
  s.i64.push_back({"step", {{}, {12345}}});
  s.i64.push_back({"no_tokens", {{0, 5}, {}}});
  s.meta = {{"format", "recurrent-1"}, {"config", R"({"hidden": 128, "cell": "lstm"})"},
            {"unicode", "Ahab — \xc3\xa9\xe2\x9c\x93 \xf0\x9f\x90\x8b"}, {"empty", ""}, {"ctl", "a\nb\t\"c\"\\"}};
  return s;
}

void expect_same_bits(const Tensor& a, const Tensor& b, const std::string& name) {
  ASSERT_EQ(a.shape(), b.shape()) << name;
  ASSERT_EQ(a.numel(), b.numel()) << name;
  if (a.numel() > 0) {
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0) << name;
  }
}

class RoundTrip : public TempDirTest {};

TEST_F(RoundTrip, BitIdenticalValuesMetadataAndBytes) {
  const Sample s = sample();
  const std::string p1 = path("a.safetensors"), p2 = path("b.safetensors");
  write_safetensors(p1, s.f32, s.meta, s.i64);

  SafeTensors st = read_safetensors(p1);
  EXPECT_EQ(st.metadata(), s.meta);
  EXPECT_EQ(st.tensors().size(), s.f32.size() + s.i64.size());
  for (const auto& [name, t] : s.f32) {
    EXPECT_EQ(st.info(name).dtype, DType::F32);
    expect_same_bits(st.get_f32(name), t, name);
  }
  for (const auto& [name, t] : s.i64) {
    EXPECT_EQ(st.info(name).dtype, DType::I64);
    EXPECT_EQ(st.info(name).shape, t.shape);
    EXPECT_EQ(st.get_i64(name), t.values) << name;
  }
  // The signalling NaN kept its exact bits (no float register round trip quietened it).
  EXPECT_EQ(std::bit_cast<uint32_t>(st.get_f32("special").data()[10]), 0x7F800001u);

  // write -> read -> write: the same bytes, and the same as the in-memory serialisation.
  NamedTensors f32;
  NamedI64Tensors i64;
  for (const std::string& n : st.names()) {
    if (st.info(n).dtype == DType::F32)
      f32.push_back({n, st.get_f32(n)});
    else
      i64.push_back({n, {st.info(n).shape, st.get_i64(n)}});
  }
  write_safetensors(p2, f32, st.metadata(), i64);
  const auto b1 = read_bytes(p1), b2 = read_bytes(p2);
  EXPECT_EQ(b1, b2);
  EXPECT_EQ(serialize_safetensors(s.f32, s.meta, s.i64), b1);
  EXPECT_EQ(listing(), (std::vector<std::string>{"a.safetensors", "b.safetensors"})) << "no temp file left";
}

TEST_F(RoundTrip, LayoutAlignedHeaderPaddedOrderByDtypeSizeThenName) {
  const Sample s = sample();
  const auto bytes = serialize_safetensors(s.f32, s.meta, s.i64);
  SafeTensors st = parse_safetensors(bytes, "mem");
  EXPECT_EQ(st.header_bytes() % 8, 0u);
  EXPECT_EQ((8 + st.header_bytes()) % 8, 0u) << "data section starts 8-aligned";
  // The header's padding is spaces only.
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + st.header_bytes());
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
  // I64 tensors (8 bytes) first, then F32, each group by name; every tensor aligned to its size.
  for (const auto& [n, t] : st.tensors()) EXPECT_EQ(t.begin % dtype_size(t.dtype), 0u) << n;
  uint64_t last_i64_end = 0, first_f32 = ~uint64_t{0};
  for (const auto& [n, t] : st.tensors()) {
    if (t.dtype == DType::I64) last_i64_end = std::max(last_i64_end, t.end);
    else first_f32 = std::min(first_f32, t.begin);
  }
  EXPECT_LE(last_i64_end, first_f32);
  EXPECT_LT(st.info("b").begin, st.info("encoder.layers.0.weight_ih_l0").begin);
  EXPECT_LT(st.info("encoder.layers.0.weight_ih_l0").begin, st.info("special").begin);
}

TEST_F(RoundTrip, StridedInputIsWrittenInLogicalOrder) {
  Tensor t = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // [3, 2] view, not contiguous
  ASSERT_FALSE(t.is_contiguous());
  SafeTensors st = parse_safetensors(serialize_safetensors({{"t", t}}), "mem");
  EXPECT_EQ(st.get_f32("t").to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(st.info("t").shape, (Shape{3, 2}));
}

TEST_F(RoundTrip, NoTensorsAndOnlyMetadata) {
  SafeTensors st = parse_safetensors(serialize_safetensors({}, {{"k", "v"}}), "mem");
  EXPECT_TRUE(st.tensors().empty());
  EXPECT_EQ(st.metadata_or("k", ""), "v");
  EXPECT_EQ(st.metadata_or("missing", "fallback"), "fallback");
  st = parse_safetensors(serialize_safetensors({}), "mem");
  EXPECT_TRUE(st.tensors().empty() && st.metadata().empty());
}

TEST_F(RoundTrip, WriterRejectsBadNamesAndSizes) {
  auto expect = [&](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "accepted; expected: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string p = path("w.safetensors");
  Tensor one = Tensor::scalar(1);
  expect([&] { write_safetensors(p, {{"a", one}, {"a", one}}); }, "tensor name 'a' given twice");
  expect([&] { write_safetensors(p, {{"a", one}}, {}, {{"a", {{1}, {1}}}}); }, "tensor name 'a' given twice");
  expect([&] { write_safetensors(p, {{"", one}}); }, "empty tensor name");
  expect([&] { write_safetensors(p, {{"__metadata__", one}}); }, "'__metadata__' is reserved");
  expect([&] { write_safetensors(p, {{"u", Tensor()}}); }, "tensor 'u' is undefined");
  expect([&] { write_safetensors(p, {}, {}, {{"n", {{2, 2}, {1, 2, 3}}}}); }, "tensor 'n': 3 values for shape [2, 2]");
  expect([&] { write_safetensors(p, {}, {}, {{"n", {{-1, -1}, {7}}}}); }, "tensor 'n': shape [-1, -1] has a negative dimension");
  expect([&] { write_safetensors(p, {{"bad\xff", one}}); }, "not valid UTF-8");
  expect([&] { write_safetensors(p, {}, {{"k", "\xc3"}}); }, "not valid UTF-8");
  EXPECT_EQ(listing(), std::vector<std::string>{}) << "nothing written";
  try {
    write_safetensors(p, {{"a", one}, {"a", one}});
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), p) << "write errors name the file";
  }
}

// Every dtype, bit for bit: the PyTorch-made fixture (F16, BF16, F32, F64, I64, I32, a 0-d F64)
// plus hand-made BOOL, U8, I8, I16 tensors are copied through raw_tensor() into a file of ours,
// read back (same dtype, shape, bytes, and the same float32 conversion), and written again
// byte-identically.
TEST_F(RoundTrip, EveryDtypeBitIdenticalThroughRawTensors) {
  const SafeTensors torch_file = read_safetensors(std::string(RECURRENT_TEST_DATA) + "/io/dtypes.safetensors");
  NamedRawTensors raw;
  for (const std::string& n : torch_file.names()) raw.push_back({n, torch_file.raw_tensor(n)});
  raw.push_back({"bool", {DType::BOOL, {2, 2}, {0, 1, 1, 0}}});
  raw.push_back({"u8", {DType::U8, {3}, {0, 128, 255}}});
  raw.push_back({"i8", {DType::I8, {3}, {0x80, 0xFF, 0x7F}}});
  raw.push_back({"i16", {DType::I16, {2}, {0x00, 0x80, 0xFF, 0x7F}}});  // -32768, 32767
  raw.push_back({"empty_f16", {DType::F16, {0, 3}, {}}});
  std::set<DType> dtypes;
  for (const auto& [n, t] : raw) dtypes.insert(t.dtype);
  EXPECT_EQ(dtypes.size(), 10u) << "all ten dtypes";

  const std::string p1 = path("all.safetensors"), p2 = path("again.safetensors");
  write_safetensors(p1, {}, {{"from", "dtypes.safetensors"}}, {}, raw);
  const SafeTensors back = read_safetensors(p1);
  ASSERT_EQ(back.tensors().size(), raw.size());
  for (const auto& [n, t] : raw) {
    EXPECT_EQ(back.info(n).dtype, t.dtype) << n;
    EXPECT_EQ(back.info(n).shape, t.shape) << n;
    const auto bytes = back.raw(n);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), t.bytes.begin(), t.bytes.end())) << n;
    EXPECT_EQ(back.info(n).begin % dtype_size(t.dtype), 0u) << n << " aligned to its element size";
    if (torch_file.contains(n)) expect_same_bits(back.get_f32(n), torch_file.get_f32(n), n);
  }
  EXPECT_EQ(back.get_i64("i8"), (std::vector<int64_t>{-128, -1, 127}));
  EXPECT_EQ(back.get_i64("i16"), (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(back.get_i64("u8"), (std::vector<int64_t>{0, 128, 255}));
  EXPECT_EQ(back.get_i64("bool"), (std::vector<int64_t>{0, 1, 1, 0}));
  NamedRawTensors again;
  for (const std::string& n : back.names()) again.push_back({n, back.raw_tensor(n)});
  write_safetensors(p2, {}, back.metadata(), {}, again);
  EXPECT_EQ(read_bytes(p1), read_bytes(p2));
}

TEST_F(RoundTrip, RawTensorsWithWrongByteCountsOrNamesAreRejected) {
  auto err = [](const NamedRawTensors& raw, const NamedTensors& f32 = {}) {
    try {
      serialize_safetensors(f32, {}, {}, raw);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(err({{"h", {DType::F16, {3}, std::vector<uint8_t>(5)}}}),
            "serialize_safetensors: tensor 'h': 5 bytes for shape [3] of F16 (2 bytes per element)");
  EXPECT_NE(err({{"h", {DType::F64, {-1}, {}}}}).find("negative dimension"), std::string::npos);
  EXPECT_NE(err({{"w", {DType::F32, {1}, std::vector<uint8_t>(4)}}}, {{"w", Tensor::zeros({1})}}).find("given twice"),
            std::string::npos);
  EXPECT_NE(err({{"big", {DType::F64, {int64_t{1} << 61}, {}}}}).find("bytes for shape"), std::string::npos)
      << "byte size overflow";
}

// ---- robustness --------------------------------------------------------------------------------

// Reads `bytes` in every way the API offers; returns true if it was accepted. Anything other
// than success or recurrent::Error fails the test.
bool read_everything(const std::vector<uint8_t>& bytes, uint64_t claimed_size) {
  try {
    SafeTensors h = parse_safetensors_header(bytes, claimed_size, "fuzz");
    SafeTensors st = parse_safetensors(bytes, "fuzz");
    for (const std::string& n : st.names()) {
      Tensor t = st.get_f32(n);
      EXPECT_EQ(t.numel(), st.info(n).numel());
      if (!dtype_is_float(st.info(n).dtype)) {
        EXPECT_EQ(st.get_i64(n).size(), static_cast<size_t>(t.numel()));
      }
      EXPECT_EQ(st.raw(n).size(), st.info(n).nbytes());
    }
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a recurrent::Error: " << e.what();
    return false;
  }
}

// A valid file with several dtypes (hand-laid F16/BF16/I32/F64 after the writer's F32/I64).
std::vector<uint8_t> fuzz_seed() {
  const std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]},"c":{"dtype":"I32","shape":[1],"data_offsets":[32,36]},)"
      R"("d":{"dtype":"F16","shape":[2],"data_offsets":[36,40]},"e":{"dtype":"BF16","shape":[],"data_offsets":[40,42]},)"
      R"("f":{"dtype":"I64","shape":[0,3],"data_offsets":[42,42]},"g":{"dtype":"U8","shape":[2],"data_offsets":[42,44]}})";
  std::vector<uint8_t> data(44);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  return st_bytes(header, data);
}

TEST(SafetensorsFuzz, EveryTruncationIsRejectedCleanly) {
  const auto full = fuzz_seed();
  ASSERT_TRUE(read_everything(full, full.size()));
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + n);
    EXPECT_FALSE(read_everything(prefix, prefix.size())) << "a " << n << "-byte prefix was accepted";
  }
  // The same for a file our writer produced.
  const Sample s = sample();
  const auto written = serialize_safetensors(s.f32, s.meta, s.i64);
  for (size_t n = 0; n < written.size(); ++n) {
    std::vector<uint8_t> prefix(written.begin(), written.begin() + n);
    // A cut inside the header's trailing space padding still leaves a valid header only if the
    // length field is unchanged: it is not, so every proper prefix must be rejected.
    EXPECT_FALSE(read_everything(prefix, prefix.size())) << n;
  }
}

TEST(SafetensorsFuzz, RandomCorruptionsReadOrThrowRecurrentError) {
  Rng rng(2024);
  const auto seed = fuzz_seed();
  const size_t header_end = 8 + (seed[0] | (seed[1] << 8));
  int accepted = 0;
  const int kTrials = 6000;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<uint8_t> b = seed;
    const int flips = 1 + static_cast<int>(rng.below(4));
    for (int k = 0; k < flips; ++k) {
      // Mostly inside the header (where the parser is), sometimes the length field or data.
      const uint64_t r = rng.below(10);
      const size_t pos = r < 1 ? rng.below(8) : r < 8 ? 8 + rng.below(header_end - 8) : rng.below(b.size());
      switch (rng.below(4)) {
        case 0: b[pos] = static_cast<uint8_t>(rng.next_u32()); break;            // random byte
        case 1: b[pos] ^= static_cast<uint8_t>(1u << rng.below(8)); break;       // one bit
        case 2: b[pos] = "0123456789[]{},:\"-.eE "[rng.below(22)]; break;        // JSON-ish
        default: b.erase(b.begin() + static_cast<std::ptrdiff_t>(pos)); break;  // drop a byte
      }
    }
    accepted += read_everything(b, b.size());
  }
  // Data-byte flips keep the file valid, so some are accepted; structure flips mostly are not.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, kTrials);
}

TEST(SafetensorsFuzz, RandomGarbageAndLyingLengthFields) {
  Rng rng(99);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> b(rng.below(200));
    for (auto& x : b) x = static_cast<uint8_t>(rng.next_u32());
    if (b.size() >= 8 && rng.below(2)) {  // a plausible length field over garbage
      const auto len = u64_le(rng.below(b.size()));
      std::copy(len.begin(), len.end(), b.begin());
    }
    EXPECT_FALSE(read_everything(b, b.size()));
  }
  // The header-only entry point with a claimed file size beyond what the prefix holds.
  const auto seed = fuzz_seed();
  for (uint64_t extra : {uint64_t{1}, uint64_t{1} << 40, ~uint64_t{0} - seed.size()})
    EXPECT_FALSE(read_everything(seed, seed.size() + extra));
}

}  // namespace
