// Connected-digit sets on disk: NNNNN.wav + labels.tsv (contract in recurrent/audio/connected_digits.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "recurrent/audio/connected_digits.h"
#include "recurrent/core/error.h"

namespace recurrent::audio {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

bool parse_int64(const std::string& s, int64_t& v) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  v = std::stoll(s);
  return true;
}

// One labels.tsv line -> LabelledFile; `where` is "labels.tsv:LINE".
LabelledFile parse_line(const std::string& line, const fs::path& dir, const std::string& where) {
  const std::string expected = "expected FILE.wav<TAB>digits<TAB>speaker<TAB>start:end,...";
  const auto cols = split(line, '\t');
  RC_CHECK(cols.size() == 4, where, cols.size(), " tab-separated columns; ", expected);
  LabelledFile f;
  RC_CHECK(fs::path(cols[0]).extension() == ".wav" && fs::path(cols[0]).filename() == cols[0], where, "file '", cols[0],
           "' is not a .wav name in the folder; ", expected);
  f.path = (dir / cols[0]).string();
  for (const auto& d : split(cols[1], ' ')) {
    RC_CHECK(d.size() == 1 && d[0] >= '0' && d[0] <= '9', where, "label '", d, "' is not a digit 0-9; ", expected);
    f.digits.push_back(d[0] - '0');
  }
  RC_CHECK(!f.digits.empty(), where, "no digits; ", expected);
  f.speaker = cols[2];
  for (const auto& span : split(cols[3], ',')) {
    const auto c = span.find(':');
    int64_t a = 0, b = 0;
    RC_CHECK(c != std::string::npos && parse_int64(span.substr(0, c), a) && parse_int64(span.substr(c + 1), b) && a < b,
             where, "span '", span, "' is not start:end with start < end (samples)");
    f.starts.push_back(a);
    f.ends.push_back(b);
  }
  RC_CHECK(f.starts.size() == f.digits.size(), where, f.digits.size(), " digits but ", f.starts.size(),
           " spans; expected one span per digit");
  return f;
}

}  // namespace

void write_connected(const std::string& dir, const std::vector<ConnectedUtterance>& utts, int sample_rate) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  RC_CHECK(!ec && fs::is_directory(dir), dir, "cannot create the folder: ", ec.message());
  std::ofstream labels(fs::path(dir) / "labels.tsv");
  RC_CHECK(labels.good(), (fs::path(dir) / "labels.tsv").string(), "cannot write");
  for (size_t i = 0; i < utts.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%05zu.wav", i);
    const auto& u = utts[i];
    write_wav((fs::path(dir) / name).string(), u.samples, sample_rate);
    labels << name << '\t' << u.label() << '\t' << u.speaker << '\t';
    for (size_t k = 0; k < u.starts.size(); ++k) labels << (k ? "," : "") << u.starts[k] << ':' << u.ends[k];
    labels << '\n';
  }
  labels.close();
  RC_CHECK(labels.good(), (fs::path(dir) / "labels.tsv").string(), "write failed");
}

std::vector<LabelledFile> read_connected(const std::string& dir) {
  const fs::path labels_path = fs::path(dir) / "labels.tsv";
  std::error_code ec;
  RC_CHECK(fs::is_directory(dir, ec), dir, "no such folder; expected a connected-digits folder (NNNNN.wav + labels.tsv)");
  std::ifstream in(labels_path);
  RC_CHECK(in.good(), labels_path.string(), "missing; expected one line per .wav: FILE.wav<TAB>digits<TAB>speaker<TAB>spans");
  std::vector<LabelledFile> out;
  std::set<std::string> listed;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const std::string where = labels_path.string() + ":" + std::to_string(n);
    LabelledFile f = parse_line(line, dir, where);
    RC_CHECK(fs::is_regular_file(f.path, ec), where, fs::path(f.path).filename().string(),
             " is listed but not in the folder");
    RC_CHECK(listed.insert(f.path).second, where, fs::path(f.path).filename().string(), " is listed twice");
    out.push_back(std::move(f));
  }
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".wav")
      RC_CHECK(listed.count(e.path().string()), e.path().string(), "has no line in ", labels_path.string());
  RC_CHECK(!out.empty(), labels_path.string(), "no labelled files; expected at least one line");
  return out;
}

}  // namespace recurrent::audio
