// The safetensors reader on malformed files: every kind of damage gives recurrent::Error whose
// message names the file and says what was expected (checked by substring), through all three
// entry points (in memory, whole file, header only). Hand-built bytes, one case per rule of the
// reader policy in include/recurrent/io/safetensors.h.
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <iostream>
#include <set>

#include "io/io_test_util.h"
#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::io;
using namespace recurrent::testing;

namespace {

struct Malformed {
  const char* kind;              // what is wrong, for the report
  std::vector<uint8_t> bytes;    // the whole file
  std::string expect;            // substring of the error message
};

const std::vector<uint8_t> k8(8, 0);  // 8 data bytes: two F32 zeros

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

// n bytes from a fixed-seed stream (the project's RNG, so the case is the same on every run).
std::vector<uint8_t> garbage(uint64_t seed, size_t n) {
  Rng rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng.next_u32());
  return out;
}

std::vector<Malformed> cases() {
  const std::string a2 = entry("F32", "[2]", "[0,8]");  // a valid [2] F32 at [0, 8)
  return {
      {"file shorter than 8 bytes", {1, 2, 3}, "file is 3 bytes, too short for a safetensors file"},
      {"empty file", {}, "file is 0 bytes, too short"},
      {"header length beyond the end of the file", [] {
         auto b = u64_le(64);
         b.push_back('{');
         return b;
       }(), "header length 64 exceeds the 1 bytes after the length field"},
      {"header length over the 100 MB cap", u64_le(100'000'001), "header length 100000001 is larger than the limit"},
      {"header length 2^64-1", u64_le(~uint64_t{0}), "is larger than the limit of 100000000 bytes"},
      {"invalid JSON", st_bytes(R"({"a": {"dtype": "F32",)"), "header is not valid JSON (at byte"},
      {"JSON followed by garbage", st_bytes(R"({}  x)"), "header is not valid JSON"},
      {"header with invalid UTF-8", st_bytes("{\"\xff\":1}"), "header is not valid JSON"},
      {"header is an array", st_bytes("[1, 2]"), "header must be a JSON object {name: {dtype, shape, data_offsets}}, got an array"},
      {"header is a number", st_bytes("12345678"), "header must be a JSON object {name: {dtype, shape, data_offsets}}, got a number"},
      {"header nested too deep", st_bytes(R"({"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]})"), "nested deeper than 16 levels"},
      {"entry is not an object", st_bytes(R"({"a":[1,2]})"), "tensor 'a': expected an object {dtype, shape, data_offsets}, got array"},
      {"empty tensor name", st_bytes(R"({"":)" + a2 + "}", k8), "empty tensor name"},
      {"entry missing dtype", st_bytes(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", k8), "tensor 'a': missing field 'dtype'"},
      {"entry missing shape", st_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", k8), "tensor 'a': missing field 'shape'"},
      {"entry missing data_offsets", st_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", k8), "tensor 'a': missing field 'data_offsets'"},
      {"entry with an extra field", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}})", k8),
       "tensor 'a': unexpected field 'stride' (expected only dtype, shape, data_offsets)"},
      {"unknown dtype", st_bytes(R"({"a":)" + entry("F8_E4M3", "[8]", "[0,8]") + "}", k8),
       "tensor 'a': unsupported dtype \"F8_E4M3\" (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64)"},
      {"lower-case dtype", st_bytes(R"({"a":)" + entry("f32", "[2]", "[0,8]") + "}", k8), "unsupported dtype \"f32\""},
      {"dtype not a string", st_bytes(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", k8), "'dtype' must be a string, got 4"},
      {"negative dim", st_bytes(R"({"a":)" + entry("F32", "[-2]", "[0,8]") + "}", k8),
       "tensor 'a': 'shape' must be a list of non-negative integers, got [-2]"},
      {"non-integer dim", st_bytes(R"({"a":)" + entry("F32", "[2.0]", "[0,8]") + "}", k8),
       "'shape' must be a list of non-negative integers, got [2.0]"},
      {"dim as a string", st_bytes(R"({"a":)" + entry("F32", R"(["2"])", "[0,8]") + "}", k8), "'shape' must be a list"},
      {"shape not a list", st_bytes(R"({"a":)" + entry("F32", "2", "[0,8]") + "}", k8), "'shape' must be a list of non-negative integers, got 2"},
      {"shape product overflows", st_bytes(R"({"a":)" + entry("F32", "[4294967296,4294967296]", "[0,8]") + "}", k8),
       "tensor 'a': shape [4294967296,4294967296] has more elements than fit in 64 bits"},
      {"shape with a zero dim and an overflowing product of the others",
       st_bytes(R"({"a":)" + entry("F32", "[0,4294967296,4294967296]", "[0,0]") + "}"),
       "tensor 'a': shape [0,4294967296,4294967296] has more elements than fit in 64 bits"},
      {"dim above 2^63 in an empty shape", st_bytes(R"({"a":)" + entry("F32", "[0,18446744073709551615]", "[0,0]") + "}"),
       "more elements than fit in 64 bits"},
      {"byte size overflows", st_bytes(R"({"a":)" + entry("F32", "[4611686018427387904]", "[0,8]") + "}", k8),
       "tensor 'a': byte size of shape [4611686018427387904] overflows 64 bits"},
      {"data_offsets with one number", st_bytes(R"({"a":)" + entry("F32", "[2]", "[8]") + "}", k8),
       "tensor 'a': 'data_offsets' must be two non-negative integers [begin, end], got [8]"},
      {"data_offsets with three numbers", st_bytes(R"({"a":)" + entry("F32", "[2]", "[0,8,8]") + "}", k8),
       "'data_offsets' must be two non-negative integers [begin, end], got [0,8,8]"},
      {"negative data_offsets", st_bytes(R"({"a":)" + entry("F32", "[2]", "[-8,0]") + "}", k8), "'data_offsets' must be two non-negative integers"},
      {"data_offsets not numbers", st_bytes(R"({"a":)" + entry("F32", "[2]", R"(["0","8"])") + "}", k8), "'data_offsets' must be two"},
      {"data_offsets not ordered", st_bytes(R"({"a":)" + entry("F32", "[0]", "[8,0]") + "}", k8),
       "tensor 'a': data_offsets [8, 0] must have begin <= end"},
      {"end - begin != numel * dtype size", st_bytes(R"({"a":)" + entry("F32", "[3]", "[0,8]") + "}", k8),
       "tensor 'a': data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 12 bytes"},
      {"F16 size mismatch", st_bytes(R"({"a":)" + entry("F16", "[2]", "[0,8]") + "}", k8),
       "shape [2] of F16 needs 4 bytes"},
      {"offsets beyond the data section", st_bytes(R"({"a":)" + entry("F32", "[4]", "[0,16]") + "}", k8),
       "tensor 'a': data_offsets [0, 16] extend beyond the data section (8 bytes); the file is truncated or corrupt"},
      {"overlapping tensors", st_bytes(R"({"a":)" + a2 + R"(,"b":)" + entry("F32", "[1]", "[4,8]") + "}", k8),
       "tensor 'b': data_offsets [4, 8] overlap tensor 'a' (which ends at 8)"},
      {"two tensors on the same bytes", st_bytes(R"({"a":)" + a2 + R"(,"b":)" + a2 + "}", k8), "overlap tensor 'a'"},
      {"empty tensor inside another", st_bytes(R"({"a":)" + a2 + R"(,"b":)" + entry("F32", "[0]", "[4,4]") + "}", k8),
       "tensor 'b': data_offsets [4, 4] overlap tensor 'a'"},
      {"gap between tensors", st_bytes(R"({"a":)" + entry("F32", "[1]", "[0,4]") + R"(,"b":)" + entry("F32", "[1]", "[8,12]") + "}",
                                       std::vector<uint8_t>(12)),
       "bytes [4, 8) of the data section belong to no tensor (gap before tensor 'b')"},
      {"gap before the first tensor", st_bytes(R"({"a":)" + entry("F32", "[1]", "[4,8]") + "}", k8), "bytes [0, 4) of the data section belong to no tensor"},
      {"trailing bytes", st_bytes(R"({"a":)" + a2 + "}", std::vector<uint8_t>(12)),
       "4 trailing bytes after the last tensor (data section is 12 bytes, tensors cover 8)"},
      {"data but no tensors", st_bytes("{}", k8), "8 trailing bytes after the last tensor"},
      {"duplicate tensor names", st_bytes(R"({"a":)" + a2 + R"(,"a":)" + a2 + "}", k8), "duplicate tensor name 'a' in the header"},
      {"duplicate field inside an entry", st_bytes(R"({"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", k8),
       "duplicate key 'dtype' inside 'a'"},
      {"__metadata__ not an object", st_bytes(R"({"__metadata__":"x"})"), "'__metadata__' must be an object of string values, got string"},
      {"__metadata__ value not a string", st_bytes(R"({"__metadata__":{"epoch":3}})"),
       "'__metadata__' must map strings to strings, but key 'epoch' holds 3"},
      {"random garbage bytes", garbage(1, 4096), "is larger than the limit of 100000000 bytes"},
      {"random garbage header with a plausible length", [] {
         auto b = garbage(2, 208);  // then overwrite the length field: 200 header bytes follow
         const auto len = u64_le(200);
         std::copy(len.begin(), len.end(), b.begin());
         return b;
       }(), "header is not valid JSON"},
      {"text file instead of safetensors", [] {
         const std::string t = "Call me Ishmael. Some years ago - never mind how long precisely - having little money";
         return std::vector<uint8_t>(t.begin(), t.end());
       }(), "is larger than the limit of 100000000 bytes"},
      {"header is a JSON string", st_bytes(R"("abc")"), "header must be a JSON object"},
      {"header length zero", u64_le(0), "header is not valid JSON"},
      {"tensor name with a newline and a bad dtype", st_bytes(R"({"a\nb":)" + entry("F99", "[2]", "[0,8]") + "}", k8),
       "tensor 'a\\x0ab': unsupported dtype \"F99\""},
      {"duplicate __metadata__ key", st_bytes(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate key 'k' inside '__metadata__'"},
  };
}

void expect_error(const std::function<void()>& f, const std::string& where, const std::string& needle,
                  const char* kind, const char* api) {
  try {
    f();
    ADD_FAILURE() << api << " accepted: " << kind;
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), where) << api << ": " << kind;
    EXPECT_NE(e.message().find(needle), std::string::npos)
        << api << ": " << kind << "\n  expected substring: " << needle << "\n  got: " << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << api << ": " << kind << ": wrong exception type: " << e.what();
  }
}

class Malformed_ : public TempDirTest {};

// One test per kind of damage (ctest lists them: Kinds/MalformedKind.*), each through the three
// entry points; the message must name the file (Error::where) and say what was expected.
class MalformedKind : public TempDirTest, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedKind, RejectedWithAClearMessageNamingTheFile) {
  const Malformed& c = GetParam();
  expect_error([&] { parse_safetensors(c.bytes, "mem.safetensors"); }, "mem.safetensors", c.expect, c.kind,
               "parse_safetensors");
  const std::string p = path("bad.safetensors");
  write_bytes(p, c.bytes);
  expect_error([&] { read_safetensors(p); }, p, c.expect, c.kind, "read_safetensors");
  expect_error([&] { read_safetensors_header(p); }, p, c.expect, c.kind, "read_safetensors_header");
  // The message as the CLI prints it ("<file>: <what>"), for the catalogue (ctest --verbose).
  try {
    parse_safetensors(c.bytes, "bad.safetensors");
  } catch (const Error& e) {
    std::cout << "  " << c.kind << " -> " << e.what() << "\n";
    EXPECT_EQ(std::string(e.what()).rfind("bad.safetensors", 0), 0u) << "what() starts with the file: " << e.what();
  }
}

// "file shorter than 8 bytes" -> "FileShorterThan8Bytes"
std::string test_name(const ::testing::TestParamInfo<Malformed>& info) {
  std::string out;
  bool up = true;
  for (const char ch : std::string(info.param.kind)) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
      up = false;
    } else {
      up = true;
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Kinds, MalformedKind, ::testing::ValuesIn(cases()), test_name);

TEST(MalformedCatalogue, AtLeastTwelveDistinctKinds) {
  const auto all = cases();
  EXPECT_GE(all.size(), 12u);
  std::set<std::string> kinds, names;
  for (const Malformed& c : all) {
    EXPECT_TRUE(kinds.insert(c.kind).second) << "duplicate kind: " << c.kind;
    EXPECT_TRUE(names.insert(test_name({c, 0})).second) << "duplicate test name for: " << c.kind;
  }
}

TEST_F(Malformed_, TheValidTemplatesAreAccepted) {
  // The cases above differ from these in one thing each, so a rejection is for that thing.
  SafeTensors st = parse_safetensors(st_bytes(R"({"a":)" + entry("F32", "[2]", "[0,8]") + "}", k8), "ok");
  EXPECT_EQ(st.names(), std::vector<std::string>{"a"});
  st = parse_safetensors(st_bytes(R"({"a":)" + entry("F32", "[1]", "[0,4]") + R"(,"b":)" + entry("F32", "[1]", "[4,8]") + "}", k8), "ok");
  EXPECT_EQ(st.names().size(), 2u);
  st = parse_safetensors(st_bytes(R"({"__metadata__":{"k":"v"}})"), "ok");
  EXPECT_EQ(st.metadata().at("k"), "v");
  st = parse_safetensors(st_bytes("{}"), "ok");  // no tensors, no data: a valid (empty) file
  EXPECT_TRUE(st.tensors().empty());
  st = parse_safetensors(st_bytes(R"({"a":)" + entry("F32", "[0,4294967296]", "[0,0]") + "}"), "ok");
  EXPECT_EQ(st.info("a").shape, (Shape{0, 4294967296}));
  EXPECT_EQ(st.get_f32("a").numel(), 0);
  // Two empty tensors at one offset do not overlap anything (the reference reader agrees).
  st = parse_safetensors(st_bytes(R"({"a":)" + entry("F32", "[0]", "[0,0]") + R"(,"b":)" + entry("F32", "[0]", "[0,0]") + "}"), "ok");
  EXPECT_EQ(st.names().size(), 2u);
  // Header padded with trailing spaces (the reference writer pads to a multiple of 8).
  const std::string padded = R"({"a":)" + entry("F32", "[2]", "[0,8]") + "}     ";
  st = parse_safetensors(st_bytes(padded, k8), "ok");
  EXPECT_EQ(st.header_bytes(), padded.size());
  EXPECT_EQ(st.data_bytes(), 8u);
}

TEST_F(Malformed_, FileSystemErrorsNameThePath) {
  const std::string missing = path("missing.safetensors");
  expect_error([&] { read_safetensors(missing); }, missing, "cannot open: No such file or directory", "missing file",
               "read_safetensors");
  expect_error([&] { read_safetensors_header(missing); }, missing, "cannot open", "missing file",
               "read_safetensors_header");
  expect_error([&] { read_safetensors(dir_.string()); }, dir_.string(), "not a regular file", "a directory",
               "read_safetensors");
}

TEST_F(Malformed_, MissingTensorAndWrongTypeAccessNameTheTensor) {
  SafeTensors st = parse_safetensors(st_bytes(R"({"a":)" + entry("F32", "[2]", "[0,8]") + "}", k8), "f.safetensors");
  expect_error([&] { st.info("b"); }, "f.safetensors", "no tensor 'b' in the file (it has: a)", "missing tensor", "info");
  expect_error([&] { st.get_i64("a"); }, "f.safetensors", "tensor 'a': has dtype F32, expected an integer dtype",
               "get_i64 on floats", "get_i64");
  const auto bytes = st_bytes(R"({"a":)" + entry("F32", "[2]", "[0,8]") + "}", k8);
  SafeTensors h = parse_safetensors_header(bytes, bytes.size(), "f.safetensors");
  expect_error([&] { h.get_f32("a"); }, "f.safetensors", "only the header was read", "header only", "get_f32");
}

}  // namespace
