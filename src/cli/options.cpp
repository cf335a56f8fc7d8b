// The CLI's option vocabulary (contract in cli/options.h).
#include "cli/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run_record.h"
#include "recurrent/core/error.h"
#include "recurrent/nn/rnn_types.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

namespace {

// "" when s is an integer in [lo, hi]; else what was wrong.
std::string integer_in(const std::string& s, long double lo, long double hi, const char* what) {
  long long v = 0;
  unsigned long long u = 0;
  const char* end = s.data() + s.size();
  bool ok = false;
  long double x = 0;
  if (!s.empty() && s[0] == '-') {
    auto r = std::from_chars(s.data(), end, v);
    ok = r.ec == std::errc() && r.ptr == end, x = static_cast<long double>(v);
  } else {
    auto r = std::from_chars(s.data(), end, u);
    ok = r.ec == std::errc() && r.ptr == end, x = static_cast<long double>(u);
  }
  const std::string shown = s.size() > 24 ? s.substr(0, 20) + "… (" + std::to_string(s.size()) + " characters)" : s;
  if (!ok || x < lo || x > hi) return std::string("expected ") + what + ", got " + shown;
  return "";
}

// "" when s is a finite number satisfying `ok`; else what was wrong.
template <class Ok>
std::string real_if(const std::string& s, Ok ok, const char* what) {
  double v = 0;
  size_t used = 0;
  bool parsed = false;
  try {
    v = std::stod(s, &used);
    parsed = used == s.size();
  } catch (const std::exception&) {
  }
  const std::string shown = s.size() > 24 ? s.substr(0, 20) + "…" : s;
  if (!parsed || !std::isfinite(v) || !ok(v)) return std::string("expected ") + what + ", got " + shown;
  return "";
}

// ok(part) for every comma-separated part of s (empty parts included: "16,,8" has an empty one).
template <class Ok>
bool each_part(const std::string& s, Ok ok) {
  for (size_t a = 0;;) {
    const size_t b = s.find(',', a);
    if (!ok(s.substr(a, b == std::string::npos ? std::string::npos : b - a))) return false;
    if (b == std::string::npos) return true;
    a = b + 1;
  }
}

std::string check_kind(const std::string& kind, const std::string& s) {
  constexpr long double kI64 = 9223372036854775807.0L, kU64 = 18446744073709551615.0L;
  if (kind == "positive") return integer_in(s, 1, kI64, "a positive integer");
  if (kind == "count") return integer_in(s, 0, kI64, "an integer >= 0");
  if (kind == "seed") return integer_in(s, 0, kU64, "an integer from 0 to 2^64-1");
  if (kind == "real") return real_if(s, [](double) { return true; }, "a finite number");
  if (kind == "positive-real") return real_if(s, [](double v) { return v > 0; }, "a number > 0");
  if (kind == "nonneg-real") return real_if(s, [](double v) { return v >= 0; }, "a number >= 0");
  if (kind == "fraction") return real_if(s, [](double v) { return v >= 0 && v < 1; }, "a fraction in [0, 1)");
  if (kind == "probability") return real_if(s, [](double v) { return v > 0 && v <= 1; }, "a probability in (0, 1]");
  if (kind == "duration") {
    if (s == "0") return "";  // none
    try {
      train::parse_duration(s, "duration");
      return "";
    } catch (const Error&) {
      return "expected a duration such as 90s, 30m or 1.5h, got " + s;
    }
  }
  if (kind == "steps-or-duration") {  // --save-every
    try {
      train::RunOptions o;
      train::parse_save_every(s, o);
      return "";
    } catch (const Error& e) {
      return e.message();
    }
  }
  if (kind == "nonneg-real-list")
    return each_part(s, [](const std::string& p) { return real_if(p, [](double v) { return v >= 0; }, "").empty(); })
               ? ""
               : "expected a number >= 0 or a comma list of them, got " + s;
  if (kind == "positive-list")
    return each_part(s, [&](const std::string& p) { return integer_in(p, 1, kI64, "").empty(); })
               ? ""
               : "expected a positive integer or a comma list of them, got " + s;
  if (kind == "cells") {
    try {
      each_part(s, [](const std::string& p) { return parse_cell(p), true; });
      return "";
    } catch (const Error&) {
      std::string names;
      for (const std::string& n : cell_names()) names += (names.empty() ? "" : " ") + n;
      return "expected a cell name or a comma list of them (" + names + "), got " + s;
    }
  }
  if (kind == "file") return std::filesystem::is_regular_file(s) ? "" : "expected an existing file, got " + s;
  if (kind == "dir") return std::filesystem::is_directory(s) ? "" : "expected an existing folder, got " + s;
  if (kind == "path") return std::filesystem::exists(s) ? "" : "expected an existing file or folder, got " + s;
  if (kind == "text") return "";
  throw std::logic_error("cli::checked: unknown kind " + kind);
}

const char* kind_hint(const std::string& kind) {
  if (kind == "fraction") return "in [0,1)";
  if (kind == "probability") return "in (0,1]";
  if (kind == "duration") return "DURATION";
  if (kind == "steps-or-duration") return "STEPS|DURATION";
  if (kind == "positive-list") return "N[,N…]";
  if (kind == "cells") return "CELL[,CELL…]";
  return "";
}

}  // namespace

CLI::Validator checked(const std::string& kind) {
  check_kind(kind, "");  // an unknown kind fails at registration, not in a user's hands
  // "90s", "30m", "1.5h" → seconds, so an option bound to a double must attach it with ->transform (->check
  // keeps the text: CLI11 then fails to convert "90s"); tests/cli/test_option_walk.cpp gives each kind a good value.
  if (kind == "duration")
    return CLI::Validator(
        [](std::string& s) {
          std::string e = check_kind("duration", s);
          if (e.empty() && s != "0") s = train::fmt_num(train::parse_duration(s, "duration"), 17);
          return e;
        },
        kind_hint(kind), kind);
  return CLI::Validator([kind](std::string& s) { return check_kind(kind, s); }, kind_hint(kind), kind);
}

CLI::Validator int_range(int64_t lo, int64_t hi) {
  const std::string what = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, what](std::string& s) {
        return integer_in(s, static_cast<long double>(lo), static_cast<long double>(hi), what.c_str());
      },
      "in [" + std::to_string(lo) + "," + std::to_string(hi) + "]", "range");
}

CLI::Validator choice_list(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return CLI::Validator(
      [names, list](std::string& s) {
        const bool ok = each_part(
            s, [&](const std::string& p) { return std::find(names.begin(), names.end(), p) != names.end(); });
        return ok ? std::string() : "expected a comma list of " + list + "; got " + s;
      },
      "LIST", "choice-list");
}

CLI::Validator choice(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return CLI::Validator(
      [names, list](std::string& s) {
        for (const std::string& n : names)
          if (s == n) return std::string();
        return "expected one of " + list + ", got " + s;
      },
      "{" + list + "}", "choice");
}

void add_run_options(CLI::App* c, train::RunOptions& o, std::string& budget) {
  c->add_option("--epochs", o.epochs, "passes over the training data, the whole run (without --time-budget or "
                "--max-steps the default is 10, forecast 100; 0: no epoch limit)")->check(checked("count"));
  c->add_option("--time-budget", budget, "training wall time incl. validation, the whole run: 90s, 30m, 1.5h")
      ->check(checked("duration"));
  c->add_option("--save-every", o.save_every_text, "also save last.safetensors mid-epoch (exact position, as at "
                "Ctrl-C) every N steps or every DURATION of training (500, 90s, 10m, 1.5h; off: only at epoch ends)")
      ->capture_default_str()->check(checked("steps-or-duration"));
  c->add_option("--max-steps", o.max_steps, "stop after this many steps in the whole run, saving last.safetensors "
                "(0: no limit)")->check(checked("count"));
  c->add_option("--out", o.out, "output folder; refused if it holds another run unless --force (a resumed run "
                "writes into its own folder)")->check(checked("text"));
  c->add_option("--resume", o.resume, "continue the run saved in this folder with its own options; budgets given "
                "replace its budgets (they count the whole run); progress output and data paths may change too")->check(checked("dir"));
  c->add_flag("--force", o.force, "--out holds another run: remove its files (checkpoints, metrics, results) first");
  c->add_option("--seed", o.seed, "random seed (initialisation, order, dropout)")->capture_default_str()
      ->check(checked("seed"));
  c->add_flag("--quiet", o.quiet, "no progress on stderr");
  c->add_option("--log-every", o.log_every, "seconds between progress lines when stderr is not a terminal (0: every "
                "update)")->capture_default_str()->check(checked("nonneg-real"));
}

void finish_run_options(const std::string& task, const CLI::App* c, train::RunOptions& o, const std::string& budget,
                        int64_t default_epochs) {
  if (!budget.empty()) o.time_budget = train::parse_duration(budget, "--time-budget");
  train::parse_save_every(o.save_every_text, o);
  if (c->count("--epochs") == 0 && o.time_budget == 0 && o.max_steps == 0) o.epochs = default_epochs;
  RC_CHECK(!(c->count("--force") && c->count("--resume")), "--force",
           "replaces a run; --resume continues one (give one of them)");
  o.command = record_options(task, *c);
}

std::string cell_choices() {
  std::string s;
  for (const std::string& n : cell_names()) s += (s.empty() ? "" : " | ") + n;
  return s;
}

void add_stack_options(CLI::App* c, std::string& cells, std::string& hidden, int64_t& layers) {
  c->add_option("--cell", cells, "cell per layer (one name or a comma list): " + cell_choices())
      ->capture_default_str()->check(checked("cells"));
  c->add_option("--hidden", hidden, "hidden size, or a comma list per layer")->capture_default_str()
      ->check(checked("positive-list"));
  c->add_option("--layers", layers, "recurrent layers")->capture_default_str()->check(checked("positive"));
}

void add_recurrence_options(CLI::App* c, double& recurrent_dropout, double& zoneout) {
  c->add_option("--recurrent-dropout", recurrent_dropout,
                "dropout on h_{t-1} as fed to W_hh, one mask per sequence (Gal & Ghahramani 2016; not gru_cho)")
      ->capture_default_str()->check(checked("fraction"));
  c->add_option("--zoneout", zoneout,
                "probability that a unit keeps its previous h (and c) at a step (Krueger et al. 2017; no projection)")
      ->capture_default_str()->check(checked("fraction"));
}

void add_optimizer_options(CLI::App* c, std::string& optimizer, double& lr, double& clip) {
  c->add_option("--optimizer", optimizer, "optimizer")->capture_default_str()
      ->check(choice({"sgd", "adam", "adamw", "rmsprop", "adagrad"}));
  c->add_option("--lr", lr, "learning rate")->capture_default_str()->check(checked("positive-real"));
  c->add_option("--clip", clip, "clip the global gradient norm to this (0: off)")->capture_default_str()
      ->check(checked("nonneg-real"));
}

namespace {
bool has_validator(const CLI::Option* o, const std::string& name) {
  try {
    return const_cast<CLI::Option*>(o)->get_validator(name) != nullptr;
  } catch (const CLI::OptionNotFound&) {
    return false;
  }
}

void list_app(const CLI::App& a, const std::string& path) {
  for (const CLI::Option* o : a.get_options()) {
    const std::string name = o->get_name();
    if (name.rfind("--", 0) != 0 || name == "--help" || name == "--version" || name == "--list-options") continue;
    const std::string kind = option_kind(o);
    const bool flag = o->get_expected_max() == 0;
    std::printf("%s\n", nlohmann::json{{"command", path}, {"option", name}, {"kind", flag ? "flag" : kind},
                                       {"flag", flag}, {"required", o->get_required()}}.dump().c_str());
  }
  for (const CLI::App* s : a.get_subcommands({}))
    list_app(*s, path.empty() ? s->get_name() : path + " " + s->get_name());
}
}  // namespace

void list_options(const CLI::App& app) { list_app(app, ""); }

std::string option_kind(const CLI::Option* o) {
  for (const char* k : {"positive", "count", "seed", "real", "positive-real", "nonneg-real", "fraction", "probability",
                        "duration", "steps-or-duration", "positive-list", "nonneg-real-list", "cells", "file", "dir", "path", "text",
                        "choice", "choice-list", "range"})
    if (has_validator(o, k)) return k;
  return "";
}

std::string usage_message(const CLI::App& app, const CLI::ParseError& e) {
  // The deepest subcommand given, and its path ("train lm").
  const CLI::App* cur = &app;
  std::string path;
  for (std::vector<CLI::App*> subs = cur->get_subcommands(); !subs.empty(); subs = cur->get_subcommands()) {
    cur = subs.front();
    path += (path.empty() ? "" : " ") + cur->get_name();
  }
  // `recurrent frobnicate`, `recurrent train foo`: CLI11 says only "A subcommand is required".
  std::vector<std::string> rest = cur->remaining(true);
  if (rest.empty()) rest = app.remaining(true);  // what a parent took by fallthrough
  if (cur->get_require_subcommand_min() > 0 && !rest.empty() && rest.front().rfind("-", 0) != 0) {
    std::string known;
    for (const CLI::App* sub : cur->get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
    return "unknown command '" + (path.empty() ? "" : path + " ") + rest.front() + "' (" +
           (path.empty() ? "commands" : path + " takes") + ": " + known + "; see --help)";
  }
  const std::string what = e.what();
  // "--hidden: At Most 1 required but received 2": an option given twice.
  const size_t at = what.find(": At Most 1 required but received");
  if (at != std::string::npos) return what.substr(0, at) + ": given more than once (give it once)";
  return what + " (see " + (path.empty() ? "" : path + " ") + "--help)";
}

}  // namespace recurrent::cli
