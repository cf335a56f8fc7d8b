// The CLI's subcommands, one file each (src/cli/cmd_<name>.cpp). main.cpp registers them in the
// order listed here, which is the order `recurrent --help` shows.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/nn/module.h"

namespace recurrent::cli {

void add_inspect(CLI::App& app);
void add_forward(CLI::App& app);
void add_features(CLI::App& app);  // cmd_features.cpp: the audio front end on one file
void add_train(CLI::App& app);   // `train` and its tasks (cmd_train.cpp); `train lm` in cmd_train_lm.cpp
void add_eval(CLI::App& app);
void add_score(CLI::App& app);
void add_sample(CLI::App& app);
void add_predict(CLI::App& app);  // cmd_predict.cpp (forecasts CSV + plot)

// The `train` subcommand group (created on first use) and its tasks.
CLI::App* train_group(CLI::App& app);
void add_train_lm(CLI::App& train);
void add_train_classify(CLI::App& train);  // cmd_train_classify.cpp
void add_train_forecast(CLI::App& train);  // cmd_train_forecast.cpp
void eval_forecaster(const std::string& model, const std::string& data, bool json);  // cmd_predict.cpp
void add_train_tag(CLI::App& train);       // cmd_train_tag.cpp
void add_train_condlm(CLI::App& train);    // cmd_train_condlm.cpp
void add_train_music(CLI::App& train);     // cmd_train_music.cpp
void add_train_asr(CLI::App& train);       // cmd_train_asr.cpp: speech (spoken digits)
void add_train_esn(CLI::App& train);       // cmd_train_esn.cpp: echo state networks
// Echo state networks in `eval` and `predict` (cmd_predict_esn.cpp).
void eval_esn(const std::string& model, const std::string& data, bool json);
void predict_esn(const std::string& model, const std::string& data, const std::string& part, const std::string& input,
                 const std::string& out, bool input_given, bool format_given);
void add_transcribe(CLI::App& app);        // cmd_transcribe.cpp
void eval_asr(const std::string& model, const std::string& data, bool json);  // cmd_transcribe.cpp
// Music models (train music) in `eval` and `sample` (cmd_music.cpp).
struct MusicSampleArgs {
  std::string prime_from, data, out;  // --prime-from SPLIT:INDEX[:STEPS], --data, --out FILE.mid
  double tempo = 80;                  // --tempo: steps (beats) a minute in the MIDI file
};
void eval_music(const std::string& model, const std::string& data, bool json);
void add_music_sample_options(CLI::App* c, MusicSampleArgs& a);
void check_music_sample_options(const CLI::App* c, bool music);  // refuses options of the other kind
void sample_music(const std::string& model, const MusicSampleArgs& a, int64_t steps, double temperature, uint64_t seed);
// The "task" of a model's configuration ("lm", "classify", "tag", "condlm"); cmd_eval.cpp.
std::string model_task(const std::string& model);
// "a classifier", "a language model", ... for messages ("--top-k: ...; this model is a classifier").
std::string model_kind(const std::string& task);
// Throws Error(model, ...) unless `value` (a loss or metric) is finite, naming a non-finite weight
// tensor of one of the models when there is one (cmd_eval.cpp).
void check_finite(double value, const std::string& what, const std::vector<std::pair<const Module*, std::string>>& models);
// Throws Error(model, ...) naming the first weight tensor that holds NaN or ±inf.
void check_finite_weights(const Module& m, const std::string& model);
void add_train_seq2seq(CLI::App& train);   // cmd_train_seq2seq.cpp
void add_translate(CLI::App& app);         // cmd_translate.cpp
void add_serve(CLI::App& app);             // cmd_serve.cpp: the HTTP API (src/serve/)
void add_explore(CLI::App& app);           // cmd_explore.cpp: the web explorer (src/explore/)
void add_bench(CLI::App& app);
void add_gradlab(CLI::App& app);
void add_experiment(CLI::App& app);  // cmd_experiment.cpp
void add_gradlab_transformer(CLI::App& app);  // `gradlab transformer` (cmd_gradlab_transformer.cpp), after add_gradlab
void add_gradlab_esn(CLI::App& app);  // `gradlab esn` (cmd_gradlab_esn.cpp): the no-BPTT remedy, after add_gradlab

}  // namespace recurrent::cli
