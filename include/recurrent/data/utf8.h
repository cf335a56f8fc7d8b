// recurrent/data/utf8.h — strict UTF-8 decoding and encoding (RFC 3629).
//
// Text enters the library as bytes and is decoded to Unicode code points (char32_t) before any
// character vocabulary sees it. Decoding is strict: overlong forms, surrogates (U+D800–U+DFFF),
// code points above U+10FFFF, stray continuation bytes and truncated sequences are rejected with
// recurrent::Error(where, "invalid UTF-8 at byte offset N: ..."), where `where` names the source
// (usually the file). Nothing is silently replaced.
#pragma once

#include <string>
#include <string_view>

namespace recurrent::data {

// bytes -> code points. `where` names the source in error messages (file name, "<string>").
std::u32string utf8_decode(std::string_view bytes, const std::string& where);

// code points -> bytes. Throws Error(where, ...) for a surrogate or a value above U+10FFFF.
std::string utf8_encode(std::u32string_view text, const std::string& where = "utf8_encode");
void utf8_append(std::string& out, char32_t cp, const std::string& where = "utf8_encode");

// "U+00E9" — for messages.
std::string code_point_str(char32_t cp);

}  // namespace recurrent::data
