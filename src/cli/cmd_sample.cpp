// recurrent sample --model DIR --prime "Call me" --length 500 --temperature 0.8 [--top-k 40]
//   [--top-p 0.9] [--seed 1] [--beam K] [--no-kv-cache] — generate text, streamed to stdout token by token.
// Same model, options and seed: the same text. --beam K prints the most likely continuation found
// by a beam search of width K (deterministic; printed when complete).
// A conditional LM (train condlm): --condition LABEL [--sentences N] prints N sampled sentences, one a line.
// A music model (train music): --steps N [--prime-from test:3] [--out FILE.mid] (cmd_music.cpp).
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/core/error.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/tasks/lm_transformer.h"

namespace recurrent::cli {

void add_sample(CLI::App& app) {
  auto o = std::make_shared<tasks::SampleOptions>();
  auto model = std::make_shared<std::string>();
  auto no_cache = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("sample", "generate text from a language model, or a chorale (MIDI) from a "
                                   "music model");
  c->add_option("--model", *model, "model directory (best.safetensors, else last) or file")->required()->check(checked("path"));
  c->add_option("--prime", o->prime, "text to start from")->capture_default_str()->check(checked("text"));
  c->add_option("--length,--steps", o->length, "tokens to generate (music: time steps, default 64)")
      ->capture_default_str()->check(checked("count"));
  c->add_option("--temperature", o->temperature, "softmax temperature (< 1: safer, > 1: wilder; 0: greedy, plain LMs)")->capture_default_str()->check(checked("nonneg-real"));
  c->add_option("--top-k", o->top_k, "sample among the k most likely tokens (0: all)")->capture_default_str()->check(checked("count"));
  c->add_option("--top-p", o->top_p, "sample among the most likely tokens covering this mass")->capture_default_str()->check(checked("probability"));
  c->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(checked("seed"));
  c->add_option("--beam", o->beam, "beam search of this width instead of sampling (0: sample)")->capture_default_str()->check(checked("count"));
  auto cond = std::make_shared<tasks::CondSampleOptions>();
  c->add_option("--condition", cond->condition, "conditional LM: the label to generate from (e.g. a Brown genre)")->check(checked("text"));
  c->add_option("--sentences", cond->sentences, "conditional LM: sentences to generate")->capture_default_str()->check(checked("positive"));
  c->add_flag("--no-kv-cache", *no_cache, "transformer: recompute the whole window for every token (to time the cache)");
  auto greedy = std::make_shared<bool>(false);
  c->add_flag("--greedy", *greedy, "always the most likely token (the same as --temperature 0 or --top-k 1)");
  auto music = std::make_shared<MusicSampleArgs>();
  add_music_sample_options(c, *music);  // cmd_music.cpp
  c->callback([o, model, cond, no_cache, greedy, music, c] {
    const std::string task = cli::model_task(*model);
    check_music_sample_options(c, task == "music");
    if (task == "music")
      return sample_music(*model, *music, c->count("--length") ? o->length : 64, o->temperature, o->seed);
    const bool condlm = task == "condlm";
    // Options that do not apply to this model or mode are refused, never ignored.
    for (const char* opt : {"--condition", "--sentences"})
      RC_CHECK(condlm || c->count(opt) == 0, opt, "applies to a conditional LM (train condlm); this model is not one");
    for (const char* opt : {"--prime", "--length", "--top-k", "--top-p", "--beam", "--no-kv-cache", "--greedy"})
      RC_CHECK(!condlm || c->count(opt) == 0, opt, "does not apply to a conditional LM (it takes --condition, "
               "--sentences, --temperature and --seed)");
    if (o->beam > 0)
      for (const char* opt : {"--temperature", "--top-k", "--top-p", "--greedy"})  // (--seed: harmless, kept)
        RC_CHECK(c->count(opt) == 0, opt, "applies to sampling; --beam searches deterministically");
    const bool greedy_asked = *greedy || (c->count("--temperature") && o->temperature == 0);
    if (greedy_asked)
      for (const char* opt : {"--top-k", "--top-p"})
        RC_CHECK(c->count(opt) == 0, opt, "does not apply to greedy decoding (--greedy or --temperature 0)");
    RC_CHECK(!(*greedy && c->count("--temperature")), "--temperature", "does not apply with --greedy");
    if (condlm) {
      RC_CHECK(o->temperature > 0, "--temperature", "a conditional LM samples: expected a temperature > 0, got ",
               o->temperature);
      auto m = tasks::load_condlm(*model);
      check_finite_weights(*m, *model);  // NaN weights would print text all the same
      cond->temperature = o->temperature, cond->seed = o->seed;
      for (const std::string& s : tasks::sample_condlm(*m, *cond)) std::printf("%s\n", s.c_str());
      return;
    }
    if (greedy_asked) o->temperature = 1.0, o->top_k = 1;  // greedy: the argmax
    auto m = tasks::open_lm(*model);
    check_finite_weights(*m, *model);  // NaN weights would print text all the same (one token over and over)
    if (*no_cache) {
      auto* tf = dynamic_cast<tasks::TransformerLanguageModel*>(m.get());
      RC_CHECK(tf, "--no-kv-cache", "only for a transformer model");
      tf->set_recompute(true);
    }
    tasks::sample_lm(*m, *o, [](const std::string& s) {
      std::fputs(s.c_str(), stdout);
      std::fflush(stdout);
    });
    std::fputs("\n", stdout);
  });
}

}  // namespace recurrent::cli
