// explore/assets.h — the page, script and style sheet of `recurrent explore`, embedded at build time
// from src/explore/assets/ (cmake/embed_assets.cmake writes the definitions).
#pragma once

#include <cstddef>
#include <string_view>

namespace recurrent::explore {

struct Asset {
  const char* name;  // "index.html", "explore.js", ...
  const unsigned char* data;
  size_t size;
};
const Asset* find_asset(std::string_view name);  // nullptr when there is no such file

}  // namespace recurrent::explore
