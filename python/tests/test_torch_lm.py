"""recurrent.torch.LanguageModel: a language model built and trained from Python on recurrent's layers,
saved in the CLI's format and run by the CLI with the same numbers (issue 21, acceptance 4: "a model
trained from Python is used by the CLI"), and a CLI-trained model loaded into PyTorch."""
import json
import math
import os
import subprocess

import numpy as np
import pytest
import torch

import recurrent
import recurrent.torch as rt

BIN = os.environ.get("RECURRENT_BIN", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.path.join(REPO, "tests/fixtures/lm/moby_train.txt")
HELDOUT = os.path.join(REPO, "tests/fixtures/lm/moby_heldout.txt")
needs_cli = pytest.mark.skipif(not os.path.isfile(BIN), reason="RECURRENT_BIN (the CLI) not given; ctest sets it")


def cli(*args):
    return subprocess.run([BIN, "--threads", "1", *args], check=True, capture_output=True, text=True).stdout


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def train(lm, ids, steps, T=16, B=4, seed=0):
    """Adam on random windows of the id stream, truncated BPTT within a window; the losses."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
    lm.train()
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - T - 1, (B,), generator=g)
        x = torch.stack([ids[s:s + T] for s in starts], 1)          # [T, B]
        y = torch.stack([ids[s + 1:s + T + 1] for s in starts], 1)
        logits, _ = lm(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
    return losses


CONFIGS = [  # (level, cell, layers, hidden, embed, dropout, tie_weights, proj)
    ("char", "lstm", 2, 24, 8, 0.1, False, 0),
    ("word", "gru", 1, 16, 16, 0.0, True, 0),
    ("char", "lstm", 1, 24, 12, 0.0, True, 12),
]


@needs_cli
@pytest.mark.parametrize("level, cell, layers, hidden, embed, dropout, tie, proj", CONFIGS)
def test_trained_in_python_runs_in_the_cli(tmp_path, level, cell, layers, hidden, embed, dropout, tie, proj):
    torch.manual_seed(1)
    recurrent.set_num_threads(1)
    text = read(TRAIN)
    vocab = recurrent.Vocab.build(text, level=level, lower=level == "word", max_size=300 if level == "word" else 0)
    assert vocab.tokens[0] == "<unk>"
    lm = rt.LanguageModel(vocab, embed=embed, hidden=hidden, num_layers=layers, cell=cell, proj_size=proj,
                          dropout=dropout, tie_weights=tie)
    ids = torch.from_numpy(vocab.encode(text))
    losses = train(lm, ids, steps=30)
    assert sum(losses[-5:]) < sum(losses[:5]), losses  # it learned something
    out = str(tmp_path / "py")
    assert lm.save(out).endswith("best.safetensors")

    # score: the CLI's log-probability and Python's, the same up to float32 rounding
    for sentence in ["Call me Ishmael.", "the whale and the sea"]:
        ref = json.loads(cli("score", "--model", out, "--json", sentence))
        ours = lm.log_prob(sentence)
        assert math.isclose(ours, ref["log_prob"], rel_tol=1e-5), (ours, ref["log_prob"])
    # eval: one stream (--batch 1) over held-out text, bits per token as in Python
    ref = json.loads(cli("eval", "--model", out, "--data", HELDOUT, "--batch", "1", "--seq-len", "50", "--json"))
    ours = lm.evaluate(read(HELDOUT), seq_len=50)
    assert ours["tokens"] == ref["tokens"]
    assert math.isclose(ours["loss_nats"], ref["loss_nats"], rel_tol=1e-5), (ours, ref)
    # sample: runs, and the library's own reader of the folder gives the same text for the seed
    text_cli = cli("sample", "--model", out, "--length", "30", "--seed", "5", "--prime", "The")
    assert text_cli.rstrip("\n") == recurrent.LanguageModel(out).sample(prime="The", length=30, seed=5)
    # and back into PyTorch: the same module
    back = rt.LanguageModel.load(out)
    assert back.tie_weights == tie and back.vocab.tokens == vocab.tokens
    for (n, p), q in zip(lm.state_dict().items(), back.state_dict().values()):
        assert torch.equal(p, q), n


@needs_cli
def test_cli_trained_model_loads_into_pytorch(tmp_path):
    out = str(tmp_path / "cli")
    subprocess.run([BIN, "--threads", "1", "train", "lm", "--data", TRAIN, "--level", "char", "--cell", "gru",
                    "--layers", "2", "--hidden", "16", "--embed", "8", "--seq-len", "16", "--batch", "4",
                    "--max-steps", "4", "--seed", "2", "--quiet", "--out", out], check=True, capture_output=True)
    lm = rt.LanguageModel.load(out)
    assert isinstance(lm.rnn, rt.GRU) and not lm.training
    ref = json.loads(cli("score", "--model", out, "--json", "Ahab"))
    assert math.isclose(lm.log_prob("Ahab"), ref["log_prob"], rel_tol=1e-5)


def test_bad_arguments_are_value_errors(tmp_path):
    vocab = recurrent.Vocab.build("abc abc", level="char")
    with pytest.raises(ValueError, match="cell: expected one of"):
        rt.LanguageModel(vocab, cell="gru_cho")
    with pytest.raises(ValueError, match="tie_weights: needs the embedding size"):
        rt.LanguageModel(vocab, embed=8, hidden=16, tie_weights=True)
    with pytest.raises(ValueError, match="--level"):
        recurrent.Vocab.build("abc", level="bytes")
    lm = rt.LanguageModel(vocab, embed=4, hidden=8)
    state = lm.state_dict()
    state.pop("decoder.bias")
    with pytest.raises(ValueError, match="decoder.bias: missing"):
        recurrent._recurrent._save_lm(str(tmp_path / "x"), vocab, 4, [("lstm", 8, 0)], 0.0, False,
                                      {n: t.numpy() for n, t in state.items()})
    with pytest.raises(FileNotFoundError, match="missing: no such file or directory"):
        rt.LanguageModel.load(str(tmp_path / "missing"))


def test_save_lm_takes_lstm_bn_statistics(tmp_path):
    """The CLI-format writer takes an lstm_bn model's running statistics beside its parameters (names from a model
    the CLI wrote), checks their width, and the file loads with them."""
    vocab = recurrent.Vocab.build("abcab ba", level="char")
    rnn = recurrent.RNN("lstm_bn", 4, 6, seed=2)
    rng = np.random.default_rng(0)
    tensors = {"embedding.weight": rng.standard_normal((len(vocab), 4)).astype(np.float32),
               "decoder.weight": rng.standard_normal((len(vocab), 6)).astype(np.float32),
               "decoder.bias": np.zeros(len(vocab), np.float32)}
    tensors.update({"rnn." + n: np.array(v) for n, v in rnn.parameters().items()})
    stats = {"rnn." + n: np.full((3, v.shape[1]), 0.5, np.float32) for n, v in rnn.buffers().items()}
    f = recurrent._recurrent._save_lm(str(tmp_path / "bn"), vocab, 4, [("lstm_bn", 6, 0)], 0.0, False,
                                      {**tensors, **stats})
    saved, _ = recurrent.load_safetensors(f)
    np.testing.assert_array_equal(saved["model.rnn.bn_running_var_c_l0"], stats["rnn.bn_running_var_c_l0"])
    recurrent.LanguageModel(str(tmp_path / "bn")).score("abba")  # loads and runs with them
    bad = dict(stats, **{"rnn.bn_running_mean_c_l0": np.zeros((3, 5), np.float32)})
    with pytest.raises(ValueError, match="bn_running_mean_c_l0"):
        recurrent._recurrent._save_lm(str(tmp_path / "bad"), vocab, 4, [("lstm_bn", 6, 0)], 0.0, False,
                                      {**tensors, **bad})
