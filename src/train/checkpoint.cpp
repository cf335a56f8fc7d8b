// Checkpoint files (contract in include/recurrent/train/checkpoint.h).
#include "recurrent/train/checkpoint.h"

#include <nlohmann/json.hpp>
#include <set>

#include "recurrent/core/error.h"
#include "recurrent/train/dist.h"
#include "recurrent/io/json_int.h"

namespace recurrent::train {

namespace {
const char* kFormat = "checkpoint-1";

bool strip(const std::string& name, const std::string& prefix, std::string& rest) {
  if (name.rfind(prefix, 0) != 0) return false;
  rest = name.substr(prefix.size());
  return true;
}
}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* opt, const CheckpointData& d) {
  if (!is_writer()) return;  // under mpirun rank 0 writes; every rank holds the same weights (dist.h)
  io::NamedTensors t;
  for (auto& [name, p] : model.named_parameters()) t.push_back({"model." + name, p.value()});
  for (auto& [name, b] : model.named_buffers()) t.push_back({"model." + name, b});  // lstm_bn's running statistics
  if (opt)
    for (auto& [name, s] : opt->state()) t.push_back({"optim." + name, s});
  for (auto& [name, s] : d.extra) t.push_back({"extra." + name, s});
  io::Metadata meta{{"recurrent.format", kFormat}, {"recurrent.config", d.config_json}};
  if (!d.train_json.empty()) meta["recurrent.train"] = d.train_json;
  if (!d.command_json.empty()) meta["recurrent.command"] = d.command_json;
  if (!d.baseline_json.empty()) meta["recurrent.baseline"] = d.baseline_json;
  io::write_safetensors(path, t, meta);
}

LoadedCheckpoint read_checkpoint(const std::string& path) {
  LoadedCheckpoint ck{io::read_safetensors(path), "", "", "", "", {}, {}};
  const std::string fmt = ck.file.metadata_or("recurrent.format", "");
  RC_CHECK(fmt == kFormat, path, "not a recurrent checkpoint (metadata recurrent.format is '", fmt, "', expected '",
           kFormat, "')");
  ck.config_json = ck.file.metadata_or("recurrent.config", "");
  RC_CHECK(!ck.config_json.empty(), path, "checkpoint without recurrent.config metadata");
  ck.train_json = ck.file.metadata_or("recurrent.train", "");
  ck.command_json = ck.file.metadata_or("recurrent.command", "");
  ck.baseline_json = ck.file.metadata_or("recurrent.baseline", "");
  std::string rest;
  for (const std::string& n : ck.file.names()) {
    if (strip(n, "optim.", rest)) ck.optim.push_back({rest, ck.file.get_f32(n)});
    else if (strip(n, "extra.", rest)) ck.extra.push_back({rest, ck.file.get_f32(n)});
  }
  return ck;
}

void load_model_weights(const LoadedCheckpoint& ck, Module& model) {
  const std::string& path = ck.file.path();
  std::set<std::string> expected;
  for (auto& [name, p] : model.named_parameters()) {
    const std::string key = "model." + name;
    if (!expected.insert(key).second) continue;  // a tied parameter listed twice
    RC_CHECK(ck.file.contains(key), path, "missing tensor '", key, "'");
    Tensor t = ck.file.get_f32(key);
    RC_CHECK(t.shape() == p.shape(), path, "tensor '", key, "': expected shape ", shape_str(p.shape()), ", got ",
             shape_str(t.shape()));
    p.value().copy_(t);
  }
  // Buffers (Module::named_buffers): their first dimension may differ from the fresh model's (lstm_bn's statistics
  // grow with the longest training sequence: [S, width]), at least 1; every other dimension must match.
  for (auto& [name, b] : model.named_buffers()) {
    const std::string key = "model." + name;
    if (!expected.insert(key).second) continue;
    RC_CHECK(ck.file.contains(key), path, "missing tensor '", key, "'");
    Tensor t = ck.file.get_f32(key);
    RC_CHECK(Module::buffer_fits(b, t), path, "tensor '", key, "': expected shape ", shape_str(b.shape()),
             " (its first dimension may be any size from 1), got ", shape_str(t.shape()));
    model.set_buffer(name, t);
  }
  for (const std::string& n : ck.file.names())
    RC_CHECK(n.rfind("model.", 0) != 0 || expected.count(n), path, "unexpected tensor '", n, "' for this model");
}

std::string rng_state_to_json(const Rng& r) {
  const Rng::State& s = r.state();
  return nlohmann::json{{"seed", s.seed}, {"stream", s.stream}, {"counter", s.counter}}.dump();
}

void rng_state_from_json(Rng& r, const std::string& json, const std::string& where) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    Rng::State s;
    s.seed = io::json_int_at<uint64_t>(j, "seed");
    s.stream = io::json_int_at<uint64_t>(j, "stream");
    s.counter = io::json_int_at<uint64_t>(j, "counter");
    r.set_state(s);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, std::string("bad RNG state: ") + e.what());
  }
}

}  // namespace recurrent::train
