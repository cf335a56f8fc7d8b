// Initialising a text classifier from a word-level language model (ULMFiT-style transfer: Howard &
// Ruder 2018, "Universal Language Model Fine-tuning for Text Classification"; contract in
// tasks/classify.h).
//
// Both models are built the same way up to the RNN (embedding [V, E] → RNN stack), so the transfer is
// a copy: embedding rows through a vocabulary mapping (classifier token → LM id), and every recurrent
// tensor whose name the LM has (rnn.weight_ih_l0, ...; shapes must agree). A backward LM (trained on
// reversed sentences) gives the bidirectional classifier's reverse direction: rnn.X → rnn.X_reverse.
// The LM's decoder is not used (the classifier has its own output layer).
#include <algorithm>
#include <cstring>
#include <map>

#include "recurrent/autograd/var.h"
#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/tasks/classify.h"
#include "recurrent/tasks/lm.h"

namespace recurrent::tasks {

namespace {

std::unique_ptr<LanguageModel> load_word_lm(const std::string& lm_path, const std::string& option) {
  std::unique_ptr<LanguageModel> lm = load_lm(lm_path);
  RC_CHECK(lm->config().vocab.level() == data::TokenLevel::words, option, lm_path,
           " is a character-level language model; expected a word-level one (train lm --level word)");
  return lm;
}

// The LM id of a classifier token, applying the LM's own lower-casing (data/vocab.h) first.
int64_t lm_id(const data::Vocab& v, const std::string& token) {
  if (!v.lower()) return v.id(token);
  const std::vector<int64_t> ids = v.encode_line(data::utf8_decode(token, "token"));
  return ids.size() == 1 ? ids[0] : data::Vocab::kUnk;
}

}  // namespace

std::vector<std::string> lm_vocabulary(const std::string& lm_path) {
  std::unique_ptr<LanguageModel> lm = load_word_lm(lm_path, "--init-from");
  const data::Vocab& v = lm->config().vocab;
  std::vector<std::string> out;
  for (int64_t i = 0; i < v.size(); ++i)
    if (!v.is_special(i)) out.push_back(v.token(i));
  return out;
}

LmInitReport init_classifier_from_lm(TextClassifier& m, const std::string& lm_path, bool reverse) {
  const std::string option = reverse ? "--init-from-reverse" : "--init-from";
  std::unique_ptr<LanguageModel> lm = load_word_lm(lm_path, option);
  NoGradGuard ng;
  std::map<std::string, Var> lm_params, cls_params;
  for (auto& [n, v] : lm->named_parameters()) lm_params.emplace(n, v);
  for (auto& [n, v] : m.named_parameters()) cls_params.emplace(n, v);
  LmInitReport r;
  r.vocab = static_cast<int64_t>(m.config().vocab.size());

  // Embedding rows: classifier [V, E] ← LM [V', E] by token (both need the same E).
  Tensor& ce = cls_params.at("embedding.weight").value();
  const Tensor& le = lm_params.at("embedding.weight").value();
  const int64_t E = ce.size(1);
  RC_CHECK(le.size(1) == E, option, lm_path, ": the language model's embedding size is ", le.size(1),
           " but the classifier's is ", E, " (pass --embed ", le.size(1), ")");
  if (!reverse) {
    const data::Vocab& v = lm->config().vocab;
    const std::vector<std::string>& toks = m.config().vocab;
    for (size_t i = 0; i < toks.size(); ++i) {  // row 0: <unk> ← the LM's <unk> (rare words in both)
      const int64_t j = i == 0 ? data::Vocab::kUnk : lm_id(v, toks[i]);
      if (i > 0 && j == data::Vocab::kUnk) continue;
      std::memcpy(ce.data() + static_cast<int64_t>(i) * E, le.data() + j * E, sizeof(float) * static_cast<size_t>(E));
      ++r.rows;
    }
  }

  // Recurrent tensors by name: rnn.X → rnn.X (forward LM) or rnn.X_reverse (backward LM).
  for (const auto& [name, lv] : lm_params) {
    if (name.rfind("rnn.", 0) != 0) continue;
    const std::string target = reverse ? name + "_reverse" : name;
    auto it = cls_params.find(target);
    if (it == cls_params.end()) continue;  // a deeper LM: its upper layers have no counterpart
    Tensor& dst = it->second.value();
    RC_CHECK(dst.shape() == lv.value().shape(), option, lm_path, ": ", name, " has shape ",
             shape_str(lv.value().shape()), " but the classifier's ", target, " has ", shape_str(dst.shape()),
             " (pass the language model's --cell/--hidden)");
    const Tensor src = lv.value().contiguous();
    std::memcpy(dst.data(), src.data(), sizeof(float) * static_cast<size_t>(src.numel()));
    ++r.tensors;
  }
  // Buffers by name too (lstm_bn's per-step running statistics, docs/cells.md): as long as the LM's training went.
  for (const auto& [name, lb] : lm->named_buffers()) {
    if (name.rfind("rnn.", 0) != 0) continue;
    const std::string target = reverse ? name + "_reverse" : name;
    const Tensor* dst = m.find_buffer(target);
    if (!dst) continue;
    RC_CHECK(dst->dim() == lb.dim() && dst->size(-1) == lb.size(-1), option, lm_path, ": ", name, " has shape ",
             shape_str(lb.shape()), " but the classifier's ", target, " has ", shape_str(dst->shape()),
             " (pass the language model's --cell/--hidden)");
    m.set_buffer(target, lb.clone());
    ++r.tensors;
  }
  return r;
}

}  // namespace recurrent::tasks
