// UTF-8 decoder / encoder. Table 3-7 of the Unicode Standard ("Well-Formed UTF-8 Byte
// Sequences") is the specification: the allowed range of the second byte depends on the lead
// byte (E0: A0–BF, ED: 80–9F, F0: 90–BF, F4: 80–8F), which excludes overlong forms, surrogates
// and code points above U+10FFFF in one place.
#include "recurrent/data/utf8.h"

#include <cstdint>
#include <cstdio>

#include "recurrent/core/error.h"

namespace recurrent::data {

namespace {

std::string hex_byte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

[[noreturn]] void bad(const std::string& where, size_t offset, const std::string& what) {
  throw Error(where, detail::concat("invalid UTF-8 at byte offset ", offset, ": ", what));
}

// Sequence length and the allowed range of the second byte for lead byte b (0 = invalid lead).
struct Lead {
  int len;
  unsigned char lo, hi;
};
Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};  // 80–BF continuation, C0–C1 overlong 2-byte
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // exclude overlong 3-byte
  if (b == 0xED) return {3, 0x80, 0x9F};  // exclude surrogates D800–DFFF
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // exclude overlong 4-byte
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // exclude > U+10FFFF
  return {0, 0, 0};                       // F5–FF never appear
}

}  // namespace

std::string code_point_str(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::u32string utf8_decode(std::string_view bytes, const std::string& where) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {  // ASCII fast path
      out.push_back(b);
      ++i;
      continue;
    }
    const Lead L = lead_of(b);
    if (L.len == 0) {
      bad(where, i, (b >= 0x80 && b < 0xC0) ? "unexpected continuation byte " + hex_byte(b)
                                            : "byte " + hex_byte(b) + " cannot start a sequence");
    }
    char32_t cp = b & (0xFF >> (L.len + 1));
    for (int k = 1; k < L.len; ++k) {
      // Bytes that are present are checked first, so "E2 41" at the end reports the bad 0x41 at
      // its own offset, and only a sequence cut by the end of input is called truncated.
      if (i + k >= n) bad(where, i, "truncated " + std::to_string(L.len) + "-byte sequence at end of input");
      const unsigned char c = s[i + k];
      const unsigned char lo = k == 1 ? L.lo : 0x80, hi = k == 1 ? L.hi : 0xBF;
      if (c < lo || c > hi) {
        bad(where, i + k, "byte " + hex_byte(c) + " not allowed in a " + std::to_string(L.len) +
                              "-byte sequence starting with " + hex_byte(b) +
                              (k == 1 && (c >= 0x80 && c <= 0xBF) ? " (overlong, surrogate or > U+10FFFF)" : ""));
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(cp);
    i += L.len;
  }
  return out;
}

void utf8_append(std::string& out, char32_t cp, const std::string& where) {
  RC_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), where,
           "cannot encode ", code_point_str(cp), " (surrogate or above U+10FFFF)");
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_encode(std::u32string_view text, const std::string& where) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) utf8_append(out, cp, where);
  return out;
}

}  // namespace recurrent::data
