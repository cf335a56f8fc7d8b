// recurrent/core/error.h — the one exception type of the library.
//
// Every failure caused by user input (a file, a tensor, an argument) throws recurrent::Error with
// *where* it happened (file name, tensor name, option) and *what was expected*. The CLI turns it
// into a one-line message and a non-zero exit; nothing calls abort() on user input.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace recurrent {

class Error : public std::runtime_error {
 public:
  Error(std::string where, std::string what)
      : std::runtime_error(where.empty() ? what : where + ": " + what),
        where_(std::move(where)),
        what_(std::move(what)) {}
  const std::string& where() const { return where_; }
  const std::string& message() const { return what_; }

 private:
  std::string where_;
  std::string what_;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace recurrent

// RC_CHECK(cond, where, msg...): throw recurrent::Error(where, msg...) when cond is false.
#define RC_CHECK(cond, where, ...)                                          \
  do {                                                                      \
    if (!(cond)) throw ::recurrent::Error((where), ::recurrent::detail::concat(__VA_ARGS__)); \
  } while (0)
