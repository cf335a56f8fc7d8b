// recurrent.LanguageModel — a language model directory written by `recurrent train lm` (RNN or
// transformer), used from Python as `recurrent score` and `recurrent sample` use it: the same library
// calls (tasks::open_lm, score_text, sample_lm), so the same numbers and the same text for a seed.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "recurrent/core/error.h"
#include "recurrent/tasks/lm.h"
#include "recurrent/train/checkpoint.h"

namespace py = pybind11;
namespace rc = recurrent;

rc::Tensor borrow_array(const py::handle& obj, const std::string& name);  // module.cpp

namespace {

// A language model trained in Python (recurrent.torch.LanguageModel) as the CLI's model file: the
// recurrent.config `recurrent train lm` writes (LmConfig: vocabulary, embedding, layers as (cell, hidden,
// proj)) and the weights under the checkpoint's names (embedding.weight, rnn.weight_ih_l0, ...,
// decoder.weight unless tied, decoder.bias), strictly: each present with its shape, no other name; an lstm_bn
// model's running statistics (rnn.bn_running_*) too when given (else the fresh ones: mean 0, variance 1).
// Weights-only, written atomically. path: a directory (→ DIR/best.safetensors, the file `--model DIR`
// reads first) or a .safetensors file. Returns the file written.
std::string save_lm(const std::string& path, const rc::data::Vocab& vocab, int64_t embed,
                    const std::vector<std::tuple<std::string, int64_t, int64_t>>& layers, float dropout, bool tie_weights,
                    const py::dict& tensors) {
  rc::tasks::LmConfig c;
  c.vocab = vocab;
  c.embed = embed;
  for (const auto& [cell, hidden, proj] : layers) c.layers.push_back(rc::LayerSpec{rc::parse_cell(cell), hidden, proj});
  c.dropout = dropout;
  c.tie_weights = tie_weights;
  rc::Rng rng(0);
  rc::tasks::LanguageModel lm(c, rng);  // validates the configuration (errors name the option)
  for (auto item : tensors) {
    const std::string name = py::str(item.first);
    if (const rc::Tensor* b = lm.find_buffer(name)) {  // lstm_bn's running statistics: [S, width], S free
      const rc::Tensor src = borrow_array(item.second, name);
      RC_CHECK(rc::Module::buffer_fits(*b, src), name, "expected shape [S, ", b->size(1), "] with S >= 1 steps, got ",
               rc::shape_str(src.shape()));
      lm.set_buffer(name, src.clone());
      continue;
    }
    RC_CHECK(lm.has_parameter(name), name, "not a parameter of this language model (expected embedding.weight, rnn.*, ",
             tie_weights ? "" : "decoder.weight, ", "decoder.bias)");
  }
  for (auto& [name, p] : lm.named_parameters()) {
    RC_CHECK(tensors.contains(name), name, "missing: the language model needs every parameter");
    const rc::Tensor src = borrow_array(tensors[py::str(name)], name);
    RC_CHECK(src.shape() == p.shape(), name, "expected shape ", rc::shape_str(p.shape()), ", got ", rc::shape_str(src.shape()));
    p.value().copy_(src);
  }
  namespace fs = std::filesystem;
  std::string file = path;
  if (fs::path(path).extension() != ".safetensors") {
    fs::create_directories(path);
    file = (fs::path(path) / "best.safetensors").string();
  }
  py::gil_scoped_release nogil;
  rc::train::save_checkpoint(file, lm, nullptr, rc::train::CheckpointData{c.to_json()});
  return file;
}

class PyLM {
 public:
  explicit PyLM(const std::string& path) : path_(path) {
    // A missing path is FileNotFoundError (OSError), as Python's own open() says; the rest of
    // what the loader rejects is ValueError with its message.
    if (!std::filesystem::exists(path)) {
      PyErr_SetString(PyExc_FileNotFoundError, ("--model: no such file or directory: " + path).c_str());
      throw py::error_already_set();
    }
    py::gil_scoped_release nogil;
    m_ = rc::tasks::open_lm(path);
  }

  // (log P(text | start) in nats, [(token, probability, unk), ...]) as `recurrent score`.
  py::tuple score(const std::string& text) {
    rc::tasks::TextScore s;
    {
      py::gil_scoped_release nogil;
      s = rc::tasks::score_text(*m_, text);
    }
    py::list toks;
    for (const auto& t : s.tokens) toks.append(py::make_tuple(t.token, t.prob, t.unk));
    return py::make_tuple(s.log_prob, toks);
  }

  // The prime followed by the generated text, as `recurrent sample` prints it (without its final newline).
  std::string sample(const std::string& prime, int64_t length, double temperature, int64_t top_k, double top_p,
                     uint64_t seed, int64_t beam) {
    rc::tasks::SampleOptions o;
    o.prime = prime;
    o.length = length;
    o.temperature = temperature;
    o.top_k = top_k;
    o.top_p = top_p;
    o.seed = seed;
    o.beam = beam;
    std::string out;
    py::gil_scoped_release nogil;
    rc::tasks::sample_lm(*m_, o, [&out](const std::string& piece) { out += piece; });
    return out;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<rc::tasks::LmModel> m_;
};

}  // namespace

void bind_lm(py::module_& m) {
  m.def("_save_lm", &save_lm, py::arg("path"), py::arg("vocab"), py::arg("embed"), py::arg("layers"), py::arg("dropout"),
        py::arg("tie_weights"), py::arg("tensors"),
        "write a language model as `recurrent train lm` does (used by recurrent.torch.LanguageModel.save)");
  m.def("_resolve_model_path", &rc::tasks::resolve_model_path, py::arg("path"),
        "the checkpoint file `--model PATH` reads: DIR/best.safetensors, else DIR/last.safetensors, or the file");
  py::class_<PyLM>(m, "LanguageModel",
                   "A model directory (or .safetensors file) written by `recurrent train lm`: score and sample "
                   "as the CLI does.")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def("score", &PyLM::score, py::arg("text"),
           "(log-probability in nats, [(token, probability, unk)]) of `text` after the start token, as `recurrent score`")
      .def("sample", &PyLM::sample, py::arg("prime") = "", py::arg("length") = 500, py::arg("temperature") = 1.0,
           py::arg("top_k") = 0, py::arg("top_p") = 1.0, py::arg("seed") = 1, py::arg("beam") = 0,
           "the prime and `length` generated tokens, as `recurrent sample` (same seed, same text)")
      .def_property_readonly("path", &PyLM::path)
      .def("__repr__", [](const PyLM& l) { return "LanguageModel('" + l.path() + "')"; });
}
