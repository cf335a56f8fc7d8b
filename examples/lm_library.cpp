// lm_library — the language-model API from C++ (what `recurrent sample` / `recurrent score` do):
// load a model trained by `recurrent train lm --out DIR`, score a sentence, generate a continuation.
//
//   build/examples/lm_library runs/moby-char "Call me Ishmael."
#include <cstdio>

#include "recurrent/core/error.h"
#include "recurrent/tasks/lm.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR TEXT\n", argv[0]);
    return 2;
  }
  try {
    auto model = recurrent::tasks::load_lm(argv[1]);
    const recurrent::tasks::TextScore s = recurrent::tasks::score_text(*model, argv[2]);
    std::printf("log P(\"%s\") = %.3f nats over %zu tokens\n", argv[2], s.log_prob, s.tokens.size());
    recurrent::tasks::SampleOptions o;
    o.prime = argv[2];
    o.length = 200;
    o.temperature = 0.8;
    recurrent::tasks::sample_lm(*model, o, [](const std::string& piece) { std::fputs(piece.c_str(), stdout); });
    std::puts("");
  } catch (const recurrent::Error& e) {
    std::fprintf(stderr, "lm_library: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
