// Text patterns and the units that follow them (contract in explore/patterns.h).
#include "explore/patterns.h"

#include <algorithm>
#include <cmath>

#include "recurrent/core/error.h"

namespace recurrent::explore {

std::vector<float> builtin_pattern(const std::string& name, const std::vector<std::string>& chars) {
  std::vector<float> p(chars.size(), 0.0f);
  if (name == "quotes") {
    bool inside = false;
    for (size_t k = 0; k < chars.size(); ++k) {
      const std::string& c = chars[k];
      if (c == "\u201c") inside = true;
      else if (c == "\u201d") inside = false;
      else if (c == "\"") inside = !inside;
      p[k] = inside ? 1.0f : 0.0f;
    }
  } else if (name == "line") {
    float pos = 0;
    for (size_t k = 0; k < chars.size(); ++k) {
      pos = chars[k] == "\n" ? 0.0f : pos + 1.0f;
      p[k] = pos;
    }
  } else if (name == "brackets") {
    int depth = 0;
    for (size_t k = 0; k < chars.size(); ++k) {
      const std::string& c = chars[k];
      if (c == "(" || c == "[" || c == "{") ++depth;
      else if ((c == ")" || c == "]" || c == "}") && depth > 0) --depth;
      p[k] = depth > 0 ? 1.0f : 0.0f;
    }
  } else {
    throw Error("pattern", "expected quotes, line or brackets, got \"" + name.substr(0, 40) + "\"");
  }
  return p;
}

std::vector<float> spans_pattern(const std::vector<std::pair<int64_t, int64_t>>& spans, size_t n) {
  std::vector<float> p(n, 0.0f);
  for (auto [b, e] : spans) {
    RC_CHECK(0 <= b && b < e && e <= static_cast<int64_t>(n), "spans",
             "expected 0 <= begin < end <= ", n, ", got [", b, ", ", e, ")");
    std::fill(p.begin() + b, p.begin() + e, 1.0f);
  }
  return p;
}

double pearson(const float* x, int64_t stride, const std::vector<float>& y) {
  const size_t n = y.size();
  if (n < 2) return 0.0;
  double sx = 0, sy = 0;
  for (size_t k = 0; k < n; ++k) sx += x[k * stride], sy += y[k];
  const double mx = sx / n, my = sy / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t k = 0; k < n; ++k) {
    const double dx = x[k * stride] - mx, dy = y[k] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return 0.0;
  return sxy / std::sqrt(sxx * syy);
}

std::vector<UnitScore> rank_units(const Activations& a, const std::vector<float>& pattern,
                                  const std::vector<std::string>& kinds, size_t top) {
  const size_t n = pattern.size();
  RC_CHECK(n == a.chars.size(), "pattern", "expected ", a.chars.size(), " values, got ", n);
  double my = 0, syy = 0;
  for (float y : pattern) my += y;
  my /= std::max<size_t>(n, 1);
  for (float y : pattern) syy += (y - my) * (y - my);
  std::vector<UnitScore> all;
  for (size_t l = 0; l < a.layers.size(); ++l)
    for (const auto& [kind, rows] : a.layers[l].kinds) {
      if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) continue;
      // One row-major pass per matrix [n, H]: Σx, Σx², Σx·(y − ȳ) per unit; r = Sxy / √(Sxx·Syy).
      const size_t H = static_cast<size_t>(a.layers[l].size);
      std::vector<double> sx(H), sxx(H), sxy(H);
      for (size_t t = 0; t < n; ++t) {
        const float* x = rows.row(static_cast<int64_t>(t));
        const double dy = pattern[t] - my;
        for (size_t u = 0; u < H; ++u) sx[u] += x[u], sxx[u] += static_cast<double>(x[u]) * x[u], sxy[u] += x[u] * dy;
      }
      for (size_t u = 0; u < H; ++u) {
        const double vx = sxx[u] - sx[u] * sx[u] / static_cast<double>(n);  // Σ(x − x̄)²; Σ(x − x̄)(y − ȳ) = Σx(y − ȳ)
        const double r = vx > 1e-12 * std::max(1.0, sxx[u]) && syy > 0 ? sxy[u] / std::sqrt(vx * syy) : 0.0;
        all.push_back({l, static_cast<int64_t>(u), kind, std::clamp(r, -1.0, 1.0)});
      }
    }
  const size_t k = std::min(top, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                    [](const UnitScore& x, const UnitScore& y) { return std::fabs(x.r) > std::fabs(y.r); });
  all.resize(k);
  return all;
}

}  // namespace recurrent::explore
