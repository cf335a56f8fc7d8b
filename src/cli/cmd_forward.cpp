// recurrent forward — run a saved recurrent network on an input, optionally with gradients, for
// checking a model against another framework and for batch inference.
//
//   recurrent forward --weights W.safetensors --cell lstm --layers 2 [--bidirectional] [--proj-size P]
//     [--batch-first] --input X.safetensors [--lengths L.safetensors] [--h0 F --c0 F]
//     --output Y.safetensors [--grad-output DY.safetensors]
//
// W holds PyTorch state_dict names (weight_ih_l0, …); X holds `input`; L holds `lengths` (int64 or
// int32); h0/c0 files hold `h0` / `c0` in PyTorch's [L*D, B, R] layout. Y receives `output`, `h_n`
// (and `c_n`); with DY (tensor `grad_output`) also the gradients of sum(output ⊙ grad_output):
// `input.grad`, `<weight>.grad` for every weight, and `h0.grad` / `c0.grad` when given.
#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/options.h"
#include "recurrent/autograd/ops.h"
#include "recurrent/core/error.h"
#include "recurrent/io/safetensors.h"
#include "recurrent/nn/rnn.h"

namespace recurrent::cli {

namespace {

struct ForwardArgs {
  std::string weights, cell = "lstm", input, lengths, h0, c0, output, grad_output;
  int64_t layers = 1, proj = 0;
  bool bidirectional = false, batch_first = false;
};

Tensor require(const io::SafeTensors& f, const std::string& file, const std::string& name) {
  RC_CHECK(f.contains(name), file, "expected a tensor named '", name, "'");
  return f.get_f32(name);
}

// Sizes come from the weights: weight_ih_l0 [G*H, I], weight_hh_l0 [G*H, R].
RNNOptions options_from_weights(const ForwardArgs& a, const io::SafeTensors& w) {
  const CellType cell = parse_cell(a.cell);
  const int64_t G = gate_count(cell);
  Tensor ih = require(w, a.weights, "weight_ih_l0");
  RC_CHECK(ih.dim() == 2 && ih.size(0) % G == 0, a.weights, "weight_ih_l0: expected shape [", G,
           "*hidden, input] for cell ", a.cell, ", got ", shape_str(ih.shape()));
  RC_CHECK(a.layers >= 1, "--layers", "expected a positive layer count");
  return RNNOptions::uniform(cell, ih.size(1), ih.size(0) / G, a.layers, a.bidirectional, a.proj);
}

// Strict load, as PyTorch's load_state_dict: every parameter present with its shape, nothing extra; lstm_bn's
// running statistics (buffers) are taken where the file holds them (else its fresh ones: mean 0, variance 1).
void load_weights(RNN& rnn, const io::SafeTensors& w, const std::string& file) {
  std::set<std::string> expected;
  for (auto& [name, p] : rnn.named_parameters()) {
    expected.insert(name);
    Tensor t = require(w, file, name);
    RC_CHECK(t.shape() == p.shape(), file, "tensor '", name, "': expected shape ", shape_str(p.shape()), ", got ",
             shape_str(t.shape()), " (check --cell, --layers, --bidirectional, --proj-size)");
    p.value().copy_(t);
  }
  for (auto& [name, b] : rnn.named_buffers()) {  // lstm_bn's running statistics, where the file has them
    if (!w.contains(name)) continue;
    expected.insert(name);
    Tensor t = w.get_f32(name);
    RC_CHECK(Module::buffer_fits(b, t), file, "tensor '", name, "': expected shape [steps, ", b.size(1),
             "], got ", shape_str(t.shape()));
    rnn.set_buffer(name, t);
  }
  for (const std::string& n : w.names())
    RC_CHECK(expected.count(n), file, "unexpected tensor '", n, "' for this network (check --cell, --layers, ",
             "--bidirectional, --proj-size)");
}

// PyTorch's [L*D, B, R] initial state split into our per-layer [D, B, R] pieces.
std::vector<Var> split_state(const Var& s, const RNNOptions& o, bool cell_state, const std::string& file) {
  const int64_t L = static_cast<int64_t>(o.layers.size()), D = o.directions();
  std::vector<Var> out;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t R = cell_state ? o.layers[l].hidden : o.layers[l].out_size();
    RC_CHECK(s.value().dim() == 3 && s.size(0) == L * D && s.size(2) == R, file, cell_state ? "c0" : "h0",
             ": expected shape [", L * D, ", batch, ", R, "], got ", shape_str(s.shape()));
    out.push_back(slice(s, 0, l * D, (l + 1) * D));
  }
  return out;
}

void run_forward(const ForwardArgs& a) {
  io::SafeTensors w = io::read_safetensors(a.weights);
  RNNOptions o = options_from_weights(a, w);
  o.batch_first = a.batch_first;
  Rng rng(0);
  RNN rnn(o, rng);
  rnn.eval();
  load_weights(rnn, w, a.weights);
  const bool grads = !a.grad_output.empty();

  Var x(require(io::read_safetensors(a.input), a.input, "input"), grads);
  std::vector<int64_t> lengths;
  if (!a.lengths.empty()) {
    io::SafeTensors lf = io::read_safetensors(a.lengths);
    RC_CHECK(lf.contains("lengths"), a.lengths, "expected a tensor named 'lengths'");
    lengths = lf.get_i64("lengths");
  }
  RNNState init;
  Var h0, c0;
  if (!a.h0.empty()) {
    h0 = Var(require(io::read_safetensors(a.h0), a.h0, "h0"), grads);
    init.h = split_state(h0, o, false, a.h0);
  }
  if (!a.c0.empty()) {
    RC_CHECK(is_lstm(o.layers[0].cell), "--c0", "only LSTM cells have a cell state");
    c0 = Var(require(io::read_safetensors(a.c0), a.c0, "c0"), grads);
    init.c = split_state(c0, o, true, a.c0);
  }
  RNNOutput out = rnn.forward(x, lengths, init);
  io::NamedTensors result{{"output", out.output.value()}, {"h_n", stack_states(out.final_state.h)}};
  if (is_lstm(o.layers[0].cell)) result.push_back({"c_n", stack_states(out.final_state.c)});

  if (grads) {
    Tensor dy = require(io::read_safetensors(a.grad_output), a.grad_output, "grad_output");
    RC_CHECK(dy.shape() == out.output.shape(), a.grad_output, "grad_output: expected shape ",
             shape_str(out.output.shape()), " (the output's), got ", shape_str(dy.shape()));
    out.output.backward(dy);
    result.push_back({"input.grad", x.grad()});
    if (h0.defined()) result.push_back({"h0.grad", h0.grad()});
    if (c0.defined()) result.push_back({"c0.grad", c0.grad()});
    for (auto& [name, p] : rnn.named_parameters()) result.push_back({name + ".grad", p.grad()});
  }
  io::write_safetensors(a.output, result, {{"cell", a.cell}, {"generator", "recurrent forward"}});
}

}  // namespace

void add_forward(CLI::App& app) {
  auto a = std::make_shared<ForwardArgs>();
  CLI::App* c = app.add_subcommand("forward", "run a saved recurrent network on an input (and its gradients)");
  c->add_option("--weights", a->weights, "safetensors file with PyTorch-named weights")->required()
      ->check(checked("file"));
  c->add_option("--cell", a->cell, cell_choices())->required()->check(choice(cell_names()));
  c->add_option("--layers", a->layers, "number of stacked layers")->check(checked("positive"));
  c->add_flag("--bidirectional", a->bidirectional, "two directions per layer, outputs concatenated");
  c->add_option("--proj-size", a->proj, "LSTM projection size (0: none)")->check(checked("count"));
  c->add_flag("--batch-first", a->batch_first, "input and output are [B, T, F]");
  c->add_option("--input", a->input, "safetensors file holding `input`")->required()->check(checked("file"));
  c->add_option("--lengths", a->lengths, "safetensors file holding `lengths` (int64 or int32)")
      ->check(checked("file"));
  c->add_option("--h0", a->h0, "safetensors file holding `h0` [L*D, B, R]")->check(checked("file"));
  c->add_option("--c0", a->c0, "safetensors file holding `c0` [L*D, B, H]")->check(checked("file"));
  c->add_option("--output", a->output, "safetensors file to write")->required()->check(checked("text"));
  c->add_option("--grad-output", a->grad_output, "safetensors file holding `grad_output`: also write gradients")
      ->check(checked("file"));
  c->callback([a] { run_forward(*a); });
}

}  // namespace recurrent::cli
