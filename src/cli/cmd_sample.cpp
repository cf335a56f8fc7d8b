// recurrent sample --model DIR --prime "Call me" --length 500 --temperature 0.8 [--top-k 40]
//   [--top-p 0.9] [--seed 1] [--beam K] — generate text, streamed to stdout token by token.
// Same model, options and seed: the same text. --beam K prints the most likely continuation found
// by a beam search of width K (deterministic; printed when complete).
// A conditional LM (train condlm): --condition LABEL [--sentences N] prints N sampled sentences, one a line.
#include <cstdio>

#include "cli/commands.h"
#include "recurrent/tasks/condlm.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::cli {

void add_sample(CLI::App& app) {
  auto o = std::make_shared<tasks::SampleOptions>();
  auto model = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("sample", "generate text from a language model");
  c->add_option("--model", *model, "model directory (best.safetensors, else last) or file")->required();
  c->add_option("--prime", o->prime, "text to start from")->capture_default_str();
  c->add_option("--length", o->length, "tokens to generate")->capture_default_str();
  c->add_option("--temperature", o->temperature, "softmax temperature (< 1: safer, > 1: wilder)")->capture_default_str();
  c->add_option("--top-k", o->top_k, "sample among the k most likely tokens (0: all)")->capture_default_str();
  c->add_option("--top-p", o->top_p, "sample among the most likely tokens covering this mass")->capture_default_str();
  c->add_option("--seed", o->seed, "random seed")->capture_default_str();
  c->add_option("--beam", o->beam, "beam search of this width instead of sampling (0: sample)")->capture_default_str();
  auto cond = std::make_shared<tasks::CondSampleOptions>();
  c->add_option("--condition", cond->condition, "conditional LM: the label to generate from (e.g. a Brown genre)");
  c->add_option("--sentences", cond->sentences, "conditional LM: sentences to generate")->capture_default_str();
  c->callback([o, model, cond] {
    if (cli::model_task(*model) == "condlm") {
      auto m = tasks::load_condlm(*model);
      cond->temperature = o->temperature, cond->seed = o->seed;
      for (const std::string& s : tasks::sample_condlm(*m, *cond)) std::printf("%s\n", s.c_str());
      return;
    }
    auto m = tasks::load_lm(*model);
    tasks::sample_lm(*m, *o, [](const std::string& s) {
      std::fputs(s.c_str(), stdout);
      std::fflush(stdout);
    });
    std::fputs("\n", stdout);
  });
}

}  // namespace recurrent::cli
