// `--cell` / `--hidden` / `--layers` → LayerSpecs (layer_options.h).
#include "tasks/layer_options.h"

#include <exception>

#include "recurrent/core/error.h"
#include "recurrent/io/json_int.h"

namespace recurrent::tasks {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

}  // namespace

std::vector<LayerSpec> layer_specs(const std::string& cells_s, const std::string& hidden_s, int64_t layers,
                                   double recurrent_dropout, double zoneout) {
  RC_CHECK(layers >= 1, "--layers", "expected >= 1, got ", layers);
  const std::vector<std::string> cells = split_list(cells_s), hidden = split_list(hidden_s);
  auto pick = [&](const std::vector<std::string>& v, size_t l, const char* opt) {
    RC_CHECK(v.size() == 1 || v.size() == static_cast<size_t>(layers), opt, "expected one value or one per layer (",
             layers, "), got ", v.size());
    return v.size() == 1 ? v[0] : v[l];
  };
  std::vector<LayerSpec> specs;
  for (size_t l = 0; l < static_cast<size_t>(layers); ++l) {
    LayerSpec s;
    s.cell = parse_cell(pick(cells, l, "--cell"));
    const std::string h = pick(hidden, l, "--hidden");
    try {
      s.hidden = std::stoll(h);
    } catch (const std::exception&) {
      throw Error("--hidden", "expected a positive integer, got '" + h + "'");
    }
    RC_CHECK(s.hidden >= 1, "--hidden", "expected a positive integer, got ", s.hidden);
    s.recurrent_dropout = static_cast<float>(recurrent_dropout);
    s.zoneout = static_cast<float>(zoneout);
    specs.push_back(s);
  }
  return specs;
}

nlohmann::json layer_json(const LayerSpec& l) {
  return {{"cell", cell_name(l.cell)}, {"hidden", l.hidden}, {"proj", l.proj},
          {"recurrent_dropout", l.recurrent_dropout}, {"zoneout", l.zoneout}};
}

LayerSpec layer_from_json(const nlohmann::json& j) {
  LayerSpec l{parse_cell(j.at("cell").get<std::string>()), io::json_int_at<int64_t>(j, "hidden"), io::json_int_or<int64_t>(j, "proj", 0)};
  l.recurrent_dropout = j.value("recurrent_dropout", 0.0f);
  l.zoneout = j.value("zoneout", 0.0f);
  return l;
}

}  // namespace recurrent::tasks
