// recurrent train asr — spoken digits (tasks/asr.h): an isolated-digit classifier (--isolated) or a CTC
// speech encoder on connected digits built from FSDD by this command (speakers disjoint).
//
//   recurrent train asr --data data/fsdd [--isolated] [--speakers-test yweweler] [--speakers-train A,B]
//     [--speakers-valid C] [--valid-takes 5] [--n-train 2000 --n-valid 200 --n-test 400]
//     [--features mfcc|fbank] --cell lstm --hidden 128 --layers 2 [--bidirectional] [--stack 2]
//     [--dropout 0.1] [--spec-augment] --batch 16 (--epochs N | --time-budget 10m) --optimizer adam
//     --lr 2e-3 --clip 5 --patience 5 --out DIR [--resume DIR]
// Writes DIR/last.safetensors, DIR/best.safetensors (lowest validation WER / error), DIR/metrics.csv and
// DIR/results.json; prints the validation and test WER, CER and sentence accuracy (classifier: accuracy)
// and the test set's digit latency.
#include <cstdlib>
#include <sstream>

#include "cli/commands.h"
#include "cli/sentence_options.h"
#include "recurrent/tasks/asr.h"
#include "recurrent/train/loop.h"

namespace recurrent::cli {

namespace {

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

}  // namespace

void add_train_asr(CLI::App& train) {
  auto o = std::make_shared<tasks::AsrTrainOptions>();
  auto budget = std::make_shared<std::string>();
  auto spk = std::make_shared<std::array<std::string, 3>>();
  CLI::App* c = train.add_subcommand("asr", "train a speech recognizer on spoken digits (FSDD): CTC on connected "
                                     "digits, or an isolated-digit classifier");
  c->add_option("--data", o->d.data, "the FSDD folder (scripts/data/fetch.sh fsdd): {digit}_{speaker}_{take}.wav")
      ->required()->check(checked("dir"));
  c->add_flag("--isolated", o->d.isolated, "classify single takes (many-to-one) instead of CTC on connected digits");
  c->add_option("--speakers-train", (*spk)[0], "training speakers, comma list (default: every speaker not named "
                "in --speakers-valid / --speakers-test)")->check(checked("text"));
  c->add_option("--speakers-valid", (*spk)[1], "validation speakers (default: the last --valid-takes takes of the "
                "training speakers)")->check(checked("text"));
  c->add_option("--speakers-test", (*spk)[2], "test speakers, never heard in training (isolated without speakers: "
                "the official split, takes 0-4 test)")->check(checked("text"));
  c->add_option("--valid-takes", o->d.valid_takes, "takes per speaker and digit held out for validation")
      ->capture_default_str()->check(int_range(1, 40));
  c->add_option("--n-train", o->d.n_train, "connected utterances built for training")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--n-valid", o->d.n_valid, "connected utterances for validation")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--n-test", o->d.n_test, "connected utterances for the test")->capture_default_str()
      ->check(checked("positive"));
  c->add_option("--features", o->kind, "front end: mfcc (13 + deltas) or fbank (40 log-mels + deltas)")
      ->capture_default_str()->check(choice({"mfcc", "fbank"}));
  c->add_option("--normalize", o->normalize, "feature normalisation: global (training-set statistics kept in the "
                "model; needed by --stream), utterance (each utterance's own mean and variance) or speaker (each "
                "speaker's over all of their utterances, the test speaker's too: unlabelled adaptation)")
      ->capture_default_str()->check(choice({"global", "utterance", "speaker"}));
  add_stack_options(c, o->cells, o->hidden, o->layers);
  add_recurrence_options(c, o->recurrent_dropout, o->zoneout);
  c->add_flag("--bidirectional", o->bidirectional, "bidirectional layers (needs the whole utterance: no --stream)");
  c->add_option("--stack", o->stack, "feature frames stacked into one RNN step (time subsampling)")
      ->capture_default_str()->check(int_range(1, 16));
  c->add_option("--dropout", o->dropout, "dropout between layers and before the output")->capture_default_str()
      ->check(checked("fraction"));
  auto speeds = std::make_shared<std::string>();
  c->add_option("--speed-perturb", *speeds, "extra copies of the training audio played this many times "
                "faster, comma list (e.g. 0.9,1.1: other pitches and formants, as other voices)")
      ->check(checked("nonneg-real-list"));
  auto alphas = std::make_shared<std::string>();
  c->add_option("--vtlp", *alphas, "extra copies of the training audio with the mel filters warped by these factors, "
                "comma list (vocal tract length perturbation, e.g. 0.9,1.1: formants as another speaker's)")
      ->check(checked("nonneg-real-list"));
  c->add_flag("--spec-augment", o->spec_augment, "SpecAugment time and frequency masks on the training features");
  c->add_option("--patience", o->patience, "stop after this many epochs without a better validation error (0: off); "
                "the best weights are kept")->capture_default_str()->check(checked("count"));
  add_loop_options(c, *o, *budget, "utterances per batch");
  c->callback([o, budget, spk, speeds, alphas, c] {
    for (const std::string& s : comma_list(*speeds)) o->d.speed_perturb.push_back(std::stod(s));
    for (const std::string& s : comma_list(*alphas)) o->d.vtlp.push_back(std::stod(s));
    o->d.speakers_train = comma_list((*spk)[0]);
    o->d.speakers_valid = comma_list((*spk)[1]);
    o->d.speakers_test = comma_list((*spk)[2]);
    finish_loop_options("asr", c, *o, *budget, 30);
    o->d.seed = o->seed;
    if (tasks::train_asr(*o) == tasks::AsrOutcome::stopped && train::interrupted()) std::exit(128 + train::interrupt_signal());
  });
}

}  // namespace recurrent::cli
