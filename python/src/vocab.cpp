// recurrent.Vocab — the CLI's token vocabularies (include/recurrent/data/vocab.h) from Python: built from
// a training text by the same rules as `recurrent train lm --level char|word`, so a model trained in
// Python (recurrent.torch.LanguageModel) sees the ids the CLI will feed it.
//   Vocab.build(text, level, lower, min_count, max_size)   ids: 0 <unk>, 1 <eos> (words), then the rule
//   vocab.encode(text) -> int64 array [N]; vocab.context_ids(text): the start token, then the line's tokens
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/data/utf8.h"
#include "recurrent/data/vocab.h"
#include "recurrent/tasks/lm.h"

namespace py = pybind11;
namespace rc = recurrent;
namespace data = recurrent::data;

namespace {

py::array_t<int64_t> ids_array(const std::vector<int64_t>& ids) {
  py::array_t<int64_t> a(static_cast<py::ssize_t>(ids.size()));
  if (!ids.empty()) std::memcpy(a.mutable_data(), ids.data(), ids.size() * sizeof(int64_t));
  return a;
}

data::Vocab build(const std::string& text, const std::string& level, bool lower, int64_t min_count, int64_t max_size) {
  const std::u32string t = data::utf8_decode(text, "text");
  if (data::parse_level(level) == data::TokenLevel::chars) {
    RC_CHECK(!lower, "lower", "applies to word vocabularies (level='word')");
    return data::Vocab::build_chars(t);
  }
  data::WordVocabOptions o;
  o.lower = lower;
  o.min_count = min_count;
  o.max_size = max_size;
  return data::Vocab::build_words(t, o);
}

}  // namespace

void bind_vocab(py::module_& m) {
  py::class_<data::Vocab>(m, "Vocab", R"doc(A token vocabulary as the CLI builds and saves it (docs/lm.md).

Vocab.build(text, level='char'|'word', lower=False, min_count=1, max_size=0): from a training text, by the
rules of `recurrent train lm` (chars: code points ascending; words: count descending; id 0 is <unk>, id 1
<eos> for words). Vocab(level, tokens, lower): from a saved token list.)doc")
      .def(py::init([](const std::string& level, std::vector<std::string> tokens, bool lower) {
             return data::Vocab(data::parse_level(level), std::move(tokens), lower);
           }),
           py::arg("level"), py::arg("tokens"), py::arg("lower") = false)
      .def_static("build", &build, py::arg("text"), py::arg("level") = "char", py::arg("lower") = false,
                  py::arg("min_count") = 1, py::arg("max_size") = 0)
      .def_property_readonly("level", [](const data::Vocab& v) { return std::string(data::level_name(v.level())); })
      .def_property_readonly("lower", &data::Vocab::lower)
      .def_property_readonly("tokens", &data::Vocab::tokens)
      .def("__len__", &data::Vocab::size)
      .def(
          "encode", [](const data::Vocab& v, const std::string& text) { return ids_array(v.encode(data::utf8_decode(text, "text"))); },
          py::arg("text"), "ids of a text as `recurrent train lm` / `eval` read a file (words: <eos> after every line)")
      .def(
          "context_ids",
          [](const data::Vocab& v, const std::string& text) { return ids_array(rc::tasks::sample_prime_ids(v, text, "text")); },
          py::arg("text") = "",
          "the start token, then the tokens of one line: what `recurrent score` and `sample` feed first")
      .def("render", &data::Vocab::render, py::arg("id"), "a token as text (words: followed by a space; <eos>: a newline)")
      .def("__repr__", [](const data::Vocab& v) {
        return "Vocab(level='" + std::string(data::level_name(v.level())) + "', " + std::to_string(v.size()) + " tokens)";
      });
}
