// Strict UTF-8 (include/recurrent/data/utf8.h) against an independent oracle, and the error
// messages: the source's name and the byte offset of the first bad byte.
//
// Oracle (written from RFC 3629 section 3, not from Table 3-7 as the decoder is): a byte string
// is one well-formed character iff its lead byte announces its length L (0xxxxxxx, 110xxxxx,
// 1110xxxx, 11110xxx), the L-1 following bytes are 10xxxxxx, and the value assembled from the
// payload bits is a Unicode scalar value (not D800–DFFF, at most 10FFFF) that needs exactly L
// bytes (not overlong).
#include <gtest/gtest.h>

#include <optional>

#include "recurrent/core/error.h"
#include "recurrent/core/rng.h"
#include "recurrent/data/utf8.h"

using namespace recurrent;
using namespace recurrent::data;

namespace {

std::optional<char32_t> oracle(const std::string& s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  if (s.empty()) return std::nullopt;
  size_t len;
  char32_t cp;
  if (b(0) < 0x80) { len = 1; cp = b(0); }
  else if ((b(0) >> 5) == 0x6) { len = 2; cp = b(0) & 0x1F; }
  else if ((b(0) >> 4) == 0xE) { len = 3; cp = b(0) & 0x0F; }
  else if ((b(0) >> 3) == 0x1E) { len = 4; cp = b(0) & 0x07; }
  else return std::nullopt;
  if (s.size() != len) return std::nullopt;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) >> 6) != 0x2) return std::nullopt;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  const char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

std::optional<char32_t> decode_one(const std::string& s) {
  try {
    const std::u32string d = utf8_decode(s, "t");
    if (d.size() != 1) return std::nullopt;
    return d[0];
  } catch (const Error&) {
    return std::nullopt;
  }
}

TEST(Utf8, EveryOneAndTwoByteStringAgreesWithTheOracle) {
  for (int a = 0; a < 256; ++a) {
    const std::string s1(1, static_cast<char>(a));
    ASSERT_EQ(decode_one(s1), oracle(s1)) << "byte " << a;
    for (int b = 0; b < 256; ++b) {
      const std::string s2{static_cast<char>(a), static_cast<char>(b)};
      // A 2-byte string is one character (oracle) or, if both bytes are ASCII, two.
      if (a < 0x80 && b < 0x80) continue;
      ASSERT_EQ(decode_one(s2), oracle(s2)) << std::hex << a << " " << b;
    }
  }
}

TEST(Utf8, EveryThreeByteStringWithAThreeByteLeadAgreesWithTheOracle) {
  // Leads E0–EF with all 2^16 continuations: covers the overlong (E0 80..9F) and surrogate
  // (ED A0..BF) holes; bytes 70..C7 around the continuation range 80..BF. 124K strings.
  int valid = 0;
  for (int a = 0xE0; a <= 0xEF; ++a)
    for (int b = 0x70; b <= 0xC7; ++b)
      for (int c = 0x70; c <= 0xC7; ++c) {
        const std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        const auto want = oracle(s);
        ASSERT_EQ(decode_one(s), want) << std::hex << a << " " << b << " " << c;
        valid += want.has_value();
      }
  EXPECT_EQ(valid, 0x10000 - 0x800 - 0x800) << "every 3-byte scalar value: U+0800..U+FFFF minus surrogates";
}

TEST(Utf8, FourByteStringsAgreeWithTheOracle) {
  // Every lead F0–F7 x every second byte, with fixed and random tails; plus random 4-byte strings.
  Rng rng(3);
  for (int a = 0xF0; a <= 0xF7; ++a)
    for (int b = 0; b < 256; ++b)
      for (int rep = 0; rep < 4; ++rep) {
        const int c = rep == 0 ? 0x80 : rep == 1 ? 0xBF : static_cast<int>(rng.below(256));
        const int d = rep == 0 ? 0x80 : rep == 1 ? 0xBF : static_cast<int>(rng.below(256));
        const std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
        ASSERT_EQ(decode_one(s), oracle(s)) << std::hex << a << " " << b << " " << c << " " << d;
      }
}

TEST(Utf8, EveryScalarValueRoundTrips) {
  std::u32string all;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp)
    if (cp < 0xD800 || cp > 0xDFFF) all.push_back(cp);
  const std::string bytes = utf8_encode(all);
  for (char32_t cp : {char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800}, char32_t{0xFFFF},
                      char32_t{0x10000}, char32_t{0x10FFFF}}) {
    const std::string one = utf8_encode(std::u32string(1, cp));
    EXPECT_EQ(oracle(one), std::optional<char32_t>(cp)) << code_point_str(cp);
  }
  EXPECT_EQ(utf8_decode(bytes, "all"), all);
  EXPECT_EQ(bytes.size(), 128u + 1920u * 2 + (0x10000u - 0x800u - 0x800u) * 3 + 0x100000u * 4);
}

// The error for `bytes`: message must name `where` and the byte offset.
std::string decode_error_of(const std::string& bytes, const std::string& where = "moby.txt") {
  try {
    utf8_decode(bytes, where);
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), where);
    return e.message();
  }
  return "(accepted)";
}

TEST(Utf8, ErrorsNameTheSourceAndTheByteOffset) {
  EXPECT_EQ(decode_error_of("abc\xFF" "def"), "invalid UTF-8 at byte offset 3: byte 0xFF cannot start a sequence");
  EXPECT_EQ(decode_error_of("ab\x80"), "invalid UTF-8 at byte offset 2: unexpected continuation byte 0x80");
  EXPECT_EQ(decode_error_of("\xC0\xAF"), "invalid UTF-8 at byte offset 0: byte 0xC0 cannot start a sequence");
  EXPECT_EQ(decode_error_of("x\xE0\x80\xAF"),
            "invalid UTF-8 at byte offset 2: byte 0x80 not allowed in a 3-byte sequence starting with 0xE0 "
            "(overlong, surrogate or > U+10FFFF)");
  EXPECT_NE(decode_error_of("\xED\xA0\x80").find("byte offset 1: byte 0xA0 not allowed"), std::string::npos) << "surrogate";
  EXPECT_NE(decode_error_of("\xF4\x90\x80\x80").find("byte offset 1: byte 0x90 not allowed"), std::string::npos)
      << "above U+10FFFF";
  EXPECT_EQ(decode_error_of("x\xC3"), "invalid UTF-8 at byte offset 1: truncated 2-byte sequence at end of input");
  EXPECT_EQ(decode_error_of("x\xF0\x9F\x90"), "invalid UTF-8 at byte offset 1: truncated 4-byte sequence at end of input");
  // A bad byte before the end is reported as itself, not as a truncation.
  EXPECT_EQ(decode_error_of("\xE2" "A"), "invalid UTF-8 at byte offset 1: byte 0x41 not allowed in a 3-byte sequence starting with 0xE2");
  EXPECT_EQ(decode_error_of("\xE2\x82" "A"),
            "invalid UTF-8 at byte offset 2: byte 0x41 not allowed in a 3-byte sequence starting with 0xE2");
  // Offsets count bytes, not characters: h (1) + é (2) + llo (3) = 6.
  EXPECT_EQ(decode_error_of("h\xC3\xA9llo\xFF"), "invalid UTF-8 at byte offset 6: byte 0xFF cannot start a sequence");
  // The first error wins.
  EXPECT_NE(decode_error_of("\x80\xFF").find("byte offset 0"), std::string::npos);
}

TEST(Utf8, EncodeRejectsSurrogatesAndValuesAboveTheRange) {
  EXPECT_EQ(utf8_encode(U"A\u00e9\u20ac\U0001F40B"), "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x90\x8B");
  for (char32_t bad : {char32_t{0xD800}, char32_t{0xDFFF}, char32_t{0x110000}, char32_t{0xFFFFFFFF}}) {
    try {
      utf8_encode(std::u32string(1, bad), "vocab");
      ADD_FAILURE() << "encoded " << code_point_str(bad);
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), "vocab");
      EXPECT_NE(e.message().find(code_point_str(bad)), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(code_point_str(0xE9), "U+00E9");
  EXPECT_EQ(code_point_str(0x1F40B), "U+1F40B");
}

}  // namespace
