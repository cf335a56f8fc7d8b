// recurrent.predict — `recurrent predict --format jsonl` from Python for the text models (classifier,
// tagger, language model, conditioned LM, encoder-decoder): the same loaders and the same writers
// (include/recurrent/tasks/predict.h), so each item's dict is the JSON object the CLI prints for it.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "recurrent/core/error.h"
#include "recurrent/tasks/predict.h"
#include "recurrent/train/checkpoint.h"

namespace py = pybind11;
namespace rc = recurrent;
namespace tasks = recurrent::tasks;

namespace {

std::string model_task(const std::string& file) {
  const std::string cfg = rc::train::read_checkpoint(file).config_json;
  try {
    return nlohmann::json::parse(cfg).value("task", "");
  } catch (const nlohmann::json::exception& e) {
    throw rc::Error(file, std::string("bad model configuration: ") + e.what());
  }
}

// input: the text (items one a line, as --input reads a file) or a list of lines. Returns [dict].
py::list predict(const std::string& model, const py::object& input, int64_t top_k, int64_t beam, int64_t max_len,
                 double length_penalty, const std::string& input_format) {
  if (!std::filesystem::exists(model)) {
    PyErr_SetString(PyExc_FileNotFoundError, ("--model: no such file or directory: " + model).c_str());
    throw py::error_already_set();
  }
  std::string content;
  if (py::isinstance<py::str>(input)) {
    content = input.cast<std::string>();
  } else {
    for (const std::string& line : input.cast<std::vector<std::string>>()) content += line + "\n";
  }
  RC_CHECK(top_k >= 1, "top_k", "expected a positive integer, got ", top_k);
  tasks::DecodeOptions decode;
  decode.beam = beam;
  decode.max_len = max_len;
  decode.length_penalty = length_penalty;
  std::ostringstream os;
  {
    py::gil_scoped_release nogil;
    const std::string file = tasks::resolve_model_path(model);
    const std::string task = model_task(file);
    const std::string where = "input";
    const auto f = tasks::PredictFormat::jsonl;
    if (task == "classify") {
      tasks::predict_classify(*tasks::load_classifier(file), tasks::read_input_lines(content, where), f, os, where);
    } else if (task == "tag") {
      tasks::predict_tag(*tasks::load_tagger(file), tasks::read_tag_input(content, where, input_format), f, os);
    } else if (task == "condlm") {
      tasks::predict_condlm(*tasks::load_condlm(file), tasks::read_input_lines(content, where), top_k, f, os, where);
    } else if (task == "seq2seq") {
      tasks::predict_seq2seq(*tasks::load_seq2seq(file), tasks::read_input_lines(content, where), decode, f, os, where);
    } else {
      RC_CHECK(task.empty() || task == "lm", model, "recurrent.predict takes text models (classify, tag, lm, condlm, "
               "seq2seq); this is a '", task, "' model: use `recurrent predict`");
      tasks::predict_lm(*tasks::open_lm(file), tasks::read_input_lines(content, where), top_k, f, os, where);
    }
  }
  py::object loads = py::module_::import("json").attr("loads");
  py::list out;
  std::istringstream lines(os.str());
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.append(loads(line));
  return out;
}

}  // namespace

void bind_predict(py::module_& m) {
  m.def("predict", &predict, py::arg("model"), py::arg("input"), py::arg("top_k") = 5, py::arg("beam") = 1,
        py::arg("max_len") = 0, py::arg("length_penalty") = 1.0, py::arg("input_format") = "auto",
        R"doc(A text model trained by the CLI on new input, as `recurrent predict --format jsonl`: one dict per item.

input: the text (one item a line; blank lines skipped) or a list of lines. Classifier: {"line", "text",
"label", "probs"}; tagger (lines, or CoNLL with input_format): {"line", "tokens", "tags", "probs"}; language
model: {"line", "context", "next": [{"token", "prob"}] (top_k)}; conditioned LM (lines label<TAB>context);
encoder-decoder (beam, max_len, length_penalty): {"line", "source", "translation", "log_prob", "ended"}.)doc");
}
