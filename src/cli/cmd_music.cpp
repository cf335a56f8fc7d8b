// The music model's parts of `recurrent eval` and `recurrent sample` (tasks/music.h):
//
//   recurrent eval --model DIR --data FILE.json [--json]
//     the test split's NLL per step and frame accuracy; --json prints
//     {"split": "test", "chorales": N, "steps": S, "nll_per_step": x, "frame_accuracy": x}
//   recurrent sample --model DIR [--steps 64] [--prime-from test:3[:8]] [--data FILE.json]
//     [--temperature 1] [--seed 1] [--tempo 80] [--out FILE.mid]
//     draws a chorale: with --prime-from SPLIT:INDEX[:P] the first P steps (default 8) of that chorale
//     (of --data, else the data the model was trained on) are fed first and kept at the start;
//     --out writes a standard MIDI file (one step = one beat at --tempo beats a minute, held notes
//     merged; io/midi.h), otherwise each step's MIDI pitches are printed, one step a line.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/io/midi.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/tasks/music.h"
#include "recurrent/train/checkpoint.h"

namespace recurrent::cli {

namespace {

// The --data recorded in the model's checkpoint (train music --data), "" when there is none.
std::string recorded_data(const std::string& model) {
  const train::LoadedCheckpoint ck = train::read_checkpoint(tasks::resolve_model_path(model));
  try {
    const nlohmann::json j = nlohmann::json::parse(ck.command_json.empty() ? "{}" : ck.command_json);
    if (j.contains("options") && j["options"].contains("--data")) return j["options"]["--data"].at(0).get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

// "test:3" or "test:3:8" → the first P steps of chorale 3 of the test split.
Tensor prime_from(const std::string& spec, const std::string& data) {
  const char* opt = "--prime-from";
  const size_t a = spec.find(':'), b = a == std::string::npos ? a : spec.find(':', a + 1);
  RC_CHECK(a != std::string::npos, opt, "expected SPLIT:INDEX[:STEPS] (e.g. test:3), got '", spec, "'");
  const data::ChoraleSplit split = data::parse_split(spec.substr(0, a), opt);
  int64_t index = -1, steps = 8;
  try {
    size_t used = 0;
    const std::string i = spec.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    index = std::stoll(i, &used);
    RC_CHECK(used == i.size(), opt, "bad chorale index '", i, "'");
    if (b != std::string::npos) {
      const std::string s = spec.substr(b + 1);
      steps = std::stoll(s, &used);
      RC_CHECK(used == s.size() && steps >= 1, opt, "bad step count '", s, "' (expected an integer >= 1)");
    }
  } catch (const std::logic_error&) {
    throw Error(opt, "expected SPLIT:INDEX[:STEPS] with integers, got '" + spec + "'");
  }
  RC_CHECK(!data.empty(), "--data", "give the chorales file to prime from (the model records none)");
  const data::ChoraleSet set = data::read_chorales(data);
  const std::vector<Tensor>& part = set.part(split);
  RC_CHECK(index >= 0 && index < static_cast<int64_t>(part.size()), opt, "chorale ", index, " of '",
           data::split_name(split), "': ", data, " has ", part.size(), " there (0-based)");
  const Tensor& roll = part[index];
  return roll.slice(0, 0, std::min(steps, roll.size(0))).contiguous();
}

}  // namespace

void eval_music(const std::string& model, const std::string& data, bool json) {
  auto m = tasks::load_music_model(model);
  const data::ChoraleSet set = data::read_chorales(data);
  const tasks::MusicEval e = tasks::evaluate_music(*m, set.part(data::ChoraleSplit::test));
  check_finite(e.nll_per_step, "NLL", {{m.get(), model}});
  if (json) {
    const nlohmann::json j = {{"split", "test"}, {"chorales", e.chorales}, {"steps", e.steps},
                              {"nll_per_step", e.nll_per_step}, {"frame_accuracy", e.frame_accuracy}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("NLL per step %.4f  frame accuracy %.4f on the test split (%lld chorales, %lld steps)\n",
                e.nll_per_step, e.frame_accuracy, static_cast<long long>(e.chorales), static_cast<long long>(e.steps));
  }
}

void add_music_sample_options(CLI::App* c, MusicSampleArgs& a) {
  c->add_option("--prime-from", a.prime_from, "music: start with the first steps of a real chorale, SPLIT:INDEX[:STEPS] "
                "(e.g. test:3, 8 steps unless given)")->check(checked("text"));
  c->add_option("--data", a.data, "music: the chorales file of --prime-from (default: the one the model was trained on)")
      ->check(checked("file"));
  c->add_option("--out", a.out, "music: write a standard MIDI file here (else print each step's pitches)")
      ->check(checked("text"));
  c->add_option("--tempo", a.tempo, "music: time steps (beats) a minute in the MIDI file")->capture_default_str()
      ->check(checked("positive-real"));
}

void check_music_sample_options(const CLI::App* c, bool music) {
  static const char* const mine[] = {"--prime-from", "--data", "--out", "--tempo"};
  static const char* const not_mine[] = {"--prime", "--top-k", "--top-p", "--beam", "--no-kv-cache", "--greedy",
                                         "--condition", "--sentences"};
  for (const char* opt : mine)
    RC_CHECK(music || c->count(opt) == 0, opt, "applies to a music model (train music); this model is not one");
  for (const char* opt : not_mine)
    RC_CHECK(!music || c->count(opt) == 0, opt, "does not apply to a music model (it takes --steps, --prime-from, "
             "--data, --temperature, --seed, --tempo and --out)");
}

void sample_music(const std::string& model, const MusicSampleArgs& a, int64_t steps, double temperature, uint64_t seed) {
  RC_CHECK(temperature > 0, "--temperature", "a music model samples: expected a temperature > 0, got ", temperature);
  auto m = tasks::load_music_model(model);
  tasks::MusicSampleOptions o;
  o.steps = steps, o.temperature = temperature, o.seed = seed;
  if (!a.prime_from.empty()) o.prime = prime_from(a.prime_from, a.data.empty() ? recorded_data(model) : a.data);
  const Tensor roll = tasks::sample_music(*m, o);
  const std::vector<std::vector<int64_t>> pitches = data::roll_pitches(roll);
  if (a.out.empty()) {
    for (const auto& step : pitches) {
      std::string line;
      for (int64_t p : step) line += (line.empty() ? "" : " ") + std::to_string(p);
      std::printf("%s\n", line.c_str());
    }
    return;
  }
  io::MidiFile f;
  f.ticks_per_quarter = 480;
  f.tempo = static_cast<int64_t>(60e6 / a.tempo + 0.5);  // µs per beat; one step = one beat
  f.notes = io::notes_from_steps(pitches, f.ticks_per_quarter);
  io::write_midi(a.out, f);
  const int64_t P = o.prime.defined() ? o.prime.size(0) : 0;
  std::printf("wrote %s: %lld steps (%lld primed from %s, %lld sampled at temperature %g), %zu notes\n", a.out.c_str(),
              static_cast<long long>(roll.size(0)), static_cast<long long>(P),
              a.prime_from.empty() ? "nothing" : a.prime_from.c_str(), static_cast<long long>(steps), temperature,
              f.notes.size());
}

}  // namespace recurrent::cli
