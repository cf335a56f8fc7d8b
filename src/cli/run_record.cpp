// Training-command records and self-contained --resume (contract in cli/run_record.h).
#include "cli/run_record.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/core/threads.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/kernels/target.h"
#include "recurrent/io/json_int.h"

namespace recurrent::cli {

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

bool not_recorded(const std::string& name) { return name == "--resume" || name == "--out" || name == "--force"; }

// Progress output of this command only: recorded, but a resumed run takes them as given now (so they can
// be turned off: `--resume DIR` without --quiet shows progress again).
bool this_command_only(const std::string& name) {
  return name == "--quiet" || name == "--log-every" || name == "--diagnostics";
}

// Whether `name` (a global option: --threads, --target) is given anywhere in args.
bool given_anywhere(const std::vector<std::string>& args, const std::string& name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) { return a == name || a.rfind(name + "=", 0) == 0; });
}

// Whether the environment variable is set to something (the engine's choice made outside the command line).
bool env_given(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

// The recorded engine ({"threads": N when chosen, "target": "avx512", "target_chosen": bool}) re-entered
// unless chosen now (on the command line or by RECURRENT_NUM_THREADS / RECURRENT_TARGET), so a resumed run
// computes as the run did (results depend on the thread count and the SIMD target). A target the run took
// by default is re-entered only when this machine's default differs: choosing a target also holds oneDNN
// to its instruction set, which the run's default did not (a build without AVX-512 kernels on an AVX-512
// CPU defaults to avx2 yet runs oneDNN's AVX-512 GEMMs). A target this CPU lacks is left out.
void reenter_engine(const json& engine, const std::vector<std::string>& args, std::vector<std::string>& out) {
  if (engine.contains("threads") && !given_anywhere(args, "--threads") && !env_given("RECURRENT_NUM_THREADS"))
    out.push_back("--threads=" + std::to_string(io::json_int_at<int>(engine, "threads")));
  if (!engine.contains("target") || given_anywhere(args, "--target") || env_given("RECURRENT_TARGET")) return;
  const std::string target = engine.at("target").get<std::string>();
  if (!engine.value("target_chosen", false) && target == simd::target_name(simd::best_target())) return;
  try {
    if (simd::cpu_runs(simd::parse_target(target))) out.push_back("--target=" + target);
  } catch (const Error&) {  // a target this build does not know: the best one here
  }
}
bool is_flag(const CLI::Option* o) { return o->get_expected_max() == 0; }

const CLI::App* subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* s : app.get_subcommands({}))
    if (s->get_name() == name) return s;
  return nullptr;
}

// The options written on the command line after `train TASK`, with their values as written (an
// option's values run to the next token that starts with "--"). Also where `--resume` is.
struct GivenOptions {
  std::map<std::string, std::vector<std::string>> values;
  std::string resume;
};

GivenOptions given_options(const std::vector<std::string>& args, size_t from) {
  GivenOptions g;
  std::string cur;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      const size_t eq = a.find('=');
      cur = a.substr(0, eq);
      std::vector<std::string>& v = g.values[cur];
      if (eq != std::string::npos) v.push_back(a.substr(eq + 1));
    } else if (!cur.empty()) {
      g.values[cur].push_back(a);
    }
  }
  if (auto it = g.values.find("--resume"); it != g.values.end() && !it->second.empty()) g.resume = it->second.front();
  return g;
}

// The index of TASK in `… train TASK …` (0: not a training command). Global options before `train`
// take one value each (--threads N, --target T).
size_t task_index(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "train") return args[i + 1].rfind("-", 0) == 0 ? 0 : i + 1;
    if (args[i].rfind("--", 0) == 0 && args[i].find('=') == std::string::npos) ++i;  // skip its value
  }
  return 0;
}

// The same values: equal as text, as numbers ("2e-3" and "0.002"), or as paths to the same file.
bool same_values(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    size_t ua = 0, ub = 0;
    try {
      if (std::stod(a[i], &ua) == std::stod(b[i], &ub) && ua == a[i].size() && ub == b[i].size()) continue;
    } catch (const std::exception&) {
    }
    std::error_code ec;
    if (fs::exists(a[i], ec) && fs::exists(b[i], ec) && fs::equivalent(a[i], b[i], ec)) continue;
    return false;
  }
  return true;
}

std::string show(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "(set)" : s;
}

// A given option against the run's record: refused when it would change the run.
void check_given(const std::string& name, const std::vector<std::string>& given, const json& rec,
                 const CLI::App& sub, const std::string& dir) {
  if (not_recorded(name) || may_change_on_resume(name)) return;
  const CLI::Option* opt = sub.get_option_no_throw(name);
  if (!opt) return;  // an unknown option: CLI11 reports it
  const std::vector<std::string> was =
      rec.contains(name) ? rec.at(name).get<std::vector<std::string>>() : std::vector<std::string>{};
  if (rec.contains(name) && (same_values(was, given) || (is_flag(opt) && given.empty()))) return;
  if (!rec.contains(name) && !is_flag(opt) && given.size() == 1 && same_values({opt->get_default_str()}, given)) return;
  throw Error(name, "the run in " + dir + " was trained with " +
                        (rec.contains(name) ? name + " " + show(was) : "the default " + name +
                                              (opt->get_default_str().empty() ? "" : " " + opt->get_default_str())) +
                        "; a resumed run keeps its model, data batching and optimizer (only the budgets, progress "
                        "output and data paths may change): drop " + name + ", or start a new run with --out");
}
}  // namespace

bool may_change_on_resume(const std::string& o) {
  static const char* kMay[] = {"--epochs", "--time-budget", "--max-steps", "--save-every", "--quiet", "--log-every",
                               "--log-interval", "--eval-batch", "--diagnostics", "--data", "--valid", "--test"};
  return std::any_of(std::begin(kMay), std::end(kMay), [&](const char* m) { return o == m; });
}

std::string record_options(const std::string& task, const CLI::App& sub) {
  json opts = json::object();
  for (const CLI::Option* o : sub.get_options()) {
    const std::string name = o->get_name();
    if (o->count() == 0 || name.rfind("--", 0) != 0 || not_recorded(name)) continue;
    json vals = json::array();
    const std::string kind = option_kind(o);
    const bool names_path = kind == "file" || kind == "dir" || kind == "path";
    if (!is_flag(o))
      for (const std::string& v : o->results()) {
        std::error_code ec;
        vals.push_back(names_path && !v.empty() ? fs::absolute(v, ec).lexically_normal().string() : v);
      }
    opts[name] = vals;
  }
  const CLI::App* root = sub.get_parent() ? sub.get_parent()->get_parent() : nullptr;
  const bool target_chosen = (root && root->count("--target")) || env_given("RECURRENT_TARGET");
  json engine = {{"target", simd::target_name(simd::default_target())}, {"target_chosen", target_chosen}};
  if ((root && root->count("--threads")) || env_given("RECURRENT_NUM_THREADS")) engine["threads"] = num_threads();
  return json{{"task", task}, {"options", opts}, {"engine", engine}}.dump();
}

std::vector<std::string> expand_resume(const CLI::App& app, const std::vector<std::string>& args) {
  const size_t ti = task_index(args);
  if (ti == 0) return args;
  const GivenOptions g = given_options(args, ti + 1);
  if (g.resume.empty()) return args;
  const CLI::App* train = subcommand(app, "train");
  const CLI::App* sub = train ? subcommand(*train, args[ti]) : nullptr;
  const std::string file = (fs::path(g.resume) / "last.safetensors").string();
  // A run killed between its first best.safetensors and its first last.safetensors (the end of its
  // first epoch) has nothing to resume from: say so, rather than asking for the options (--data).
  RC_CHECK(!sub || fs::exists(file) || !fs::exists(fs::path(g.resume) / "best.safetensors"), "--resume",
           "no last.safetensors in ", g.resume, " (the run stopped before its first resumable checkpoint; "
           "best.safetensors holds its best model so far): start it again with --out ", g.resume, " --force");
  if (!sub || !fs::exists(file)) return args;  // the task reports a missing checkpoint
  // The header only (the tensors are read by the task): metadata "recurrent.command".
  const std::string rec_text = io::read_safetensors_header(file).metadata_or("recurrent.command", "");
  if (rec_text.empty()) return args;  // a run from before records: options must be repeated
  json rec, engine;
  try {
    rec = json::parse(rec_text);
    RC_CHECK(rec.at("task").get<std::string>() == args[ti], "--resume", g.resume, " holds a `train ",
             rec.at("task").get<std::string>(), "` run; resume it with recurrent train ", rec.at("task").get<std::string>(),
             " --resume ", g.resume);
    engine = rec.value("engine", json::object());
    rec = rec.at("options");
    for (const auto& [name, given] : g.values) check_given(name, given, rec, *sub, g.resume);
  } catch (const json::exception& e) {
    throw Error(file, std::string("bad recurrent.command record: ") + e.what());
  }
  // A budget given replaces the recorded one of its kind; and any budget given drops the recorded
  // --max-steps, a stop point of the earlier part (--epochs 20 after a --max-steps stop trains to
  // epoch 20, within the run's --time-budget if it has one).
  const bool new_budget = g.values.count("--epochs") || g.values.count("--time-budget") || g.values.count("--max-steps");
  std::vector<std::string> out = args;
  for (const auto& [name, vals] : rec.items()) {
    if (g.values.count(name)) continue;
    if (new_budget && name == "--max-steps") continue;
    if (this_command_only(name)) continue;
    const CLI::Option* opt = sub->get_option_no_throw(name);
    if (!opt) continue;  // an option this version no longer has
    if (vals.empty() || is_flag(opt)) {
      out.push_back(name);
      continue;
    }
    for (const auto& v : vals) out.push_back(name + "=" + v.get<std::string>());  // one token: never re-read
  }
  reenter_engine(engine, args, out);
  return out;
}

}  // namespace recurrent::cli
