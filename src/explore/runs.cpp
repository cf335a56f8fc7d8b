// Run folders, metrics.csv and diagnostics.jsonl for the explorer (contract in explore/runs.h).
#include "explore/runs.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "recurrent/core/error.h"

namespace recurrent::explore {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

RunEntry probe(const fs::path& p) {
  RunEntry r;
  r.dir = p.string();
  if (is_file(p)) {  // a model file
    r.model = p.extension() == ".safetensors";
    return r;
  }
  r.metrics = is_file(p / "metrics.csv");
  r.diagnostics = is_file(p / "diagnostics.jsonl") || is_file(p / "dh.csv");
  r.model = is_file(p / "best.safetensors") || is_file(p / "last.safetensors");
  return r;
}

bool is_run(const RunEntry& r) { return r.metrics || r.diagnostics || r.model; }

std::string base_name(const fs::path& p) {
  const fs::path n = p.lexically_normal();
  std::string s = (n.has_filename() ? n : n.parent_path()).filename().string();
  if (is_file(p) && s.size() > 12 && s.ends_with(".safetensors")) s.resize(s.size() - 12);
  return s.empty() ? "run" : s;
}

// The whole lines of a file: everything up to its last '\n'.
std::string whole_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  RC_CHECK(f, path, "cannot read this file");
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  const size_t end = s.rfind('\n');
  s.resize(end == std::string::npos ? 0 : end + 1);
  return s;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!out.empty() && !out.back().empty() && out.back().back() == '\r') out.back().pop_back();
  return out;
}

json number_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace

std::vector<RunEntry> list_runs(const std::vector<std::string>& paths) {
  std::vector<RunEntry> runs;
  std::map<std::string, int> used;
  auto add = [&](RunEntry r, const fs::path& p) {
    std::string name = base_name(p);
    const int n = ++used[name];
    if (n > 1) name += "-" + std::to_string(n);
    r.name = name;
    runs.push_back(std::move(r));
  };
  for (const std::string& s : paths) {
    const fs::path p(s);
    RunEntry r = probe(p);
    if (is_run(r)) {
      add(std::move(r), p);
      continue;
    }
    std::error_code ec;
    std::vector<fs::path> subs;
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) subs.push_back(it->path());
    std::sort(subs.begin(), subs.end());
    for (const fs::path& sub : subs) {
      RunEntry e = probe(sub);
      if (is_run(e)) add(std::move(e), sub);
    }
  }
  return runs;
}

json read_metrics(const std::string& path, int64_t from) {
  const std::string text = whole_lines(path);
  std::istringstream in(text);
  std::string line;
  json out = {{"columns", json::array()}, {"rows", json::array()}, {"total", 0}};
  if (!std::getline(in, line)) return out;
  const std::vector<std::string> cols = split_csv_line(line);
  out["columns"] = cols;
  int64_t n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    if (n++ < from) continue;
    json row = json::array();
    std::vector<std::string> f = split_csv_line(line);
    f.resize(cols.size());
    for (const std::string& v : f) row.push_back(number_or_null(v));
    out["rows"].push_back(std::move(row));
  }
  out["total"] = n;
  return out;
}

json read_diagnostics(const std::string& path, size_t max_lines) {
  const std::string text = whole_lines(path);
  std::vector<json> good;  // the lines that are JSON objects with layers
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    json j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("layers") && j["layers"].is_array()) good.push_back(std::move(j));
  }
  std::vector<size_t> keep;
  const size_t n = good.size();
  if (n <= max_lines || max_lines < 2) {
    for (size_t i = 0; i < n; ++i) keep.push_back(i);
  } else {  // evenly spaced, the first and last kept
    for (size_t k = 0; k < max_lines; ++k) keep.push_back(k * (n - 1) / (max_lines - 1));
  }
  json steps = json::array();
  for (size_t i : keep) {
    const json& j = good[i];
    json s = {{"step", j.value("step", json(nullptr))},
              {"loss", j.value("loss", json(nullptr))},
              {"grad_norm", j.value("grad_norm", json(nullptr))},
              {"layers", json::array()}};
    for (const json& l : j["layers"]) {
      if (!l.is_object()) continue;
      json e = {{"layer", l.value("layer", 0)}, {"dir", l.value("dir", 0)}, {"dh", l.value("dh", json::array())}};
      if (l.contains("dc")) e["dc"] = l["dc"];
      s["layers"].push_back(std::move(e));
    }
    steps.push_back(std::move(s));
  }
  return {{"steps", steps}, {"probed", n}};
}

json read_gradlab_dh(const std::string& path, size_t max_steps) {
  const std::string text = whole_lines(path);
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  RC_CHECK(split_csv_line(line) == std::vector<std::string>({"model", "clip", "step", "t", "distance", "dh_norm"}), path,
           "expected the gradient lab's header model,clip,step,t,distance,dh_norm");
  // step → series ("lstm clip 1") → dh by t, in the order first seen
  std::map<double, std::vector<std::pair<std::string, std::vector<json>>>> steps;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split_csv_line(line);
    if (f.size() != 6) continue;
    const json step = number_or_null(f[2]), t = number_or_null(f[3]);
    if (!step.is_number() || !t.is_number() || t.get<double>() < 0 || t.get<double>() > 1e6) continue;
    auto& series = steps[step.get<double>()];
    const std::string name = f[0] + " clip " + f[1];
    auto it = std::find_if(series.begin(), series.end(), [&](const auto& x) { return x.first == name; });
    if (it == series.end()) it = series.insert(series.end(), {name, {}});
    const size_t k = static_cast<size_t>(t.get<double>());
    if (it->second.size() <= k) it->second.resize(k + 1, nullptr);
    it->second[k] = number_or_null(f[5]);
  }
  std::vector<json> all;
  for (auto& [step, series] : steps) {
    json layers = json::array();
    for (auto& [name, dh] : series) layers.push_back({{"name", name}, {"layer", 0}, {"dir", 0}, {"dh", dh}});
    all.push_back({{"step", step}, {"loss", nullptr}, {"grad_norm", nullptr}, {"layers", layers}});
  }
  json out = json::array();
  const size_t n = all.size();
  for (size_t k = 0; k < n && k < max_steps; ++k) out.push_back(all[n <= max_steps ? k : k * (n - 1) / (max_steps - 1)]);
  return {{"steps", out}, {"probed", n}};
}

std::optional<int64_t> parse_count(const std::string& text, int64_t fallback) {
  if (text.empty()) return fallback;
  if (text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(text);
}

}  // namespace recurrent::explore
