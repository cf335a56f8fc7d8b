// Every task's model configuration (recurrent.config in a checkpoint) refuses a size that is not an
// integer in range with one recurrent::Error naming the file — the fuzzer's finding (a float embed of
// 2.2e69 in a classifier's configuration reached nlohmann's float→int64 cast: undefined behaviour) and
// the same field kind in each configuration the fuzzer reads (tests/fuzz/fuzz_model_config.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "recurrent/core/error.h"
#include "recurrent/data/text_file.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_transformer.h"

using namespace recurrent;
using namespace recurrent::tasks;

namespace {

template <class Config>
std::string config_error(const std::string& text) {
  try {
    (void)Config::from_json(text, "model.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "model.safetensors");
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "no Error for " << text;
  return "";
}

// `json` with its field `key` set to the JSON number text `number`.
std::string with(const std::string& json, const std::string& key, const std::string& number) {
  nlohmann::json j = nlohmann::json::parse(json);
  j[key] = nlohmann::json::parse(number);
  return j.dump();
}

}  // namespace

TEST(ConfigIntegers, TheFuzzersClassifierInputIsOneError) {
  const std::string found =
      data::read_file(std::string(RECURRENT_TEST_DATA) + "/tasks/fuzz/classify-config-embed-2e69-d79a9fdf.json");
  EXPECT_NE(config_error<ClassifierConfig>(found).find("out of range"), std::string::npos);
}

TEST(ConfigIntegers, EachConfigRefusesAFloatOrOutOfRangeSize) {
  const std::string lm = R"({"task":"lm","arch":"rnn","level":"char","vocab":["<unk>","a"],"lower":false,"embed":8,
    "layers":[{"cell":"lstm","hidden":8}],"dropout":0.0,"tie_weights":false})";
  ASSERT_NO_THROW(LmConfig::from_json(lm, "x"));
  for (const char* n : {"2.5", "1e69", "9223372036854775808"})
    EXPECT_NE(config_error<LmConfig>(with(lm, "embed", n)), "") << n;
  EXPECT_EQ(LmConfig::from_json(with(lm, "embed", "8.0"), "x").embed, 8);  // an integral float is that integer

  const std::string tlm = R"({"task":"lm","arch":"transformer","level":"char","vocab":["<unk>","a"],"lower":false,
    "layers":1,"heads":2,"d_model":8,"ff":16,"context":4,"dropout":0.0,"pos":"learned"})";
  ASSERT_NO_THROW(TransformerLmConfig::from_json(tlm, "x"));
  EXPECT_NE(config_error<TransformerLmConfig>(with(tlm, "layers", "-1e300")), "");
  EXPECT_NE(config_error<TransformerLmConfig>(with(tlm, "heads", "2.5")), "");
}
