// io/json_int.h: integers read from JSON are integers in the target's range — never a cast of whatever
// number is there (a float past int64 was undefined behaviour: tests/fuzz/fuzz_model_config's finding).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "recurrent/io/json_int.h"

using recurrent::io::json_int;
using recurrent::io::json_int_at;
using recurrent::io::json_int_or;
using json = nlohmann::json;

TEST(JsonInt, IntegersInRangeAndIntegralFloats) {
  EXPECT_EQ(json_int<int64_t>(json::parse("42")), 42);
  EXPECT_EQ(json_int<int64_t>(json::parse("-7")), -7);
  EXPECT_EQ(json_int<int64_t>(json::parse("1e3")), 1000);
  EXPECT_EQ(json_int<int64_t>(json::parse("-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(json_int<int64_t>(json::parse("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(json_int<uint64_t>(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(json_int<int>(json::parse("2147483647")), 2147483647);
  EXPECT_EQ(json_int<size_t>(json::parse("0")), 0u);
}

TEST(JsonInt, EverythingElseIsAJsonException) {
  for (const char* bad : {"2.5", "2222222222222222222222222222222222222222222222222222222222222222222228", "-1e300",
                          "9223372036854775808.0", "\"8\"", "true", "null", "[1]", "{}"})
    EXPECT_THROW(json_int<int64_t>(json::parse(bad)), json::exception) << bad;
  EXPECT_THROW(json_int<int64_t>(json::parse("9223372036854775808")), json::out_of_range);
  EXPECT_THROW(json_int<uint64_t>(json::parse("-1")), json::out_of_range);
  EXPECT_THROW(json_int<int>(json::parse("4294967304")), json::out_of_range);  // not 8
  EXPECT_THROW(json_int<int>(json::parse("-2147483649")), json::out_of_range);
  EXPECT_THROW(json_int<uint64_t>(json::parse("1.8446744073709552e19")), json::out_of_range);  // 2^64
}

TEST(JsonInt, AtAndOr) {
  const json j = json::parse(R"({"a": 3, "b": 1.5})");
  EXPECT_EQ(json_int_at<int64_t>(j, "a"), 3);
  EXPECT_THROW(json_int_at<int64_t>(j, "c"), json::out_of_range);
  EXPECT_THROW(json_int_at<int64_t>(j, "b"), json::type_error);
  EXPECT_EQ(json_int_or<int64_t>(j, "c", -1), -1);
  EXPECT_EQ(json_int_or<int64_t>(j, "a", -1), 3);
  EXPECT_THROW(json_int_or<int64_t>(j, "b", -1), json::type_error);
  EXPECT_THROW(json_int_or<int64_t>(json::parse("[1]"), "a", -1), json::exception);
}
