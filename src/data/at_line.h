#pragma once
// How the data readers name where a bad line is: "file:line" (1-based), the `where` of a recurrent::Error.
#include <cstdint>
#include <string>

namespace recurrent::data::detail {

inline std::string at_line(const std::string& where, int64_t line) { return where + ":" + std::to_string(line); }

}  // namespace recurrent::data::detail
