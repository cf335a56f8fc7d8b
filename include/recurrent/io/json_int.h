// recurrent/io/json_int.h — an integer read from JSON (a checkpoint's configuration and training state,
// a run record), checked.
//
// nlohmann::json's get<int64_t>() casts whatever number is there: a float such as 2e69 (undefined
// behaviour, found by tests/fuzz/fuzz_model_config), 2.5 (silently 2), or an integer past the target
// type (4294967304 as int: 8). json_int<T> takes an integer in T's range, or a float with an integral
// value in that range (1e3, as some writers print integers), and throws nlohmann's own exceptions
// otherwise (type_error 302, out_of_range 406), so the readers' existing handlers turn them into
// one line naming the file.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace recurrent::io {

template <class T>
T json_int(const nlohmann::json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using L = std::numeric_limits<T>;
  auto out_of_range = [&v]() -> T {
    throw nlohmann::json::out_of_range::create(406, "integer " + v.dump() + " is out of range", &v);
  };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(L::max()) ? out_of_range() : static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < 0 && (!L::is_signed || s < static_cast<int64_t>(L::min()))) return out_of_range();
    if (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(L::max())) return out_of_range();
    return static_cast<T>(s);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(std::isfinite(d) && d == std::trunc(d)))
      throw nlohmann::json::type_error::create(302, "expected an integer, got " + v.dump(), &v);
    // Exact bounds as doubles: min is -2^k (exact), max + 1 is 2^k (exact).
    const double lo = static_cast<double>(L::min()), hi = std::ldexp(1.0, L::digits);
    return d < lo || d >= hi ? out_of_range() : static_cast<T>(d);
  }
  throw nlohmann::json::type_error::create(302, "expected an integer, got " + std::string(v.type_name()), &v);
}

// j.at(key) as an integer; json_int_or: `fallback` when j has no such key (as json::value does).
template <class T>
T json_int_at(const nlohmann::json& j, const char* key) {
  return json_int<T>(j.at(key));
}
template <class T>
T json_int_or(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object()) return json_int<T>(j.at(key));  // json's own type_error for a non-object
  const auto it = j.find(key);
  return it == j.end() ? fallback : json_int<T>(*it);
}

}  // namespace recurrent::io
