"""recurrent.LanguageModel: a model trained by the CLI, used from Python, gives the CLI's numbers
(issue 21, acceptance 4: score and sample), and a missing model directory is FileNotFoundError."""
import json
import math
import os
import subprocess

import pytest

import recurrent

BIN = os.environ.get("RECURRENT_BIN", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_cli = pytest.mark.skipif(not os.path.isfile(BIN), reason="RECURRENT_BIN (the CLI) not given; ctest sets it")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lm") / "char")
    subprocess.run([BIN, "--threads", "1", "train", "lm", "--data", os.path.join(REPO, "tests/fixtures/lm/moby_train.txt"),
                    "--level", "char", "--cell", "lstm", "--layers", "2", "--hidden", "24", "--embed", "8",
                    "--seq-len", "16", "--batch", "4", "--max-steps", "6", "--seed", "3", "--quiet", "--out", out],
                   check=True, capture_output=True)
    return out


def cli(*args):
    return subprocess.run([BIN, "--threads", "1", *args], check=True, capture_output=True, text=True).stdout


@needs_cli
def test_score_matches_cli(model_dir):
    recurrent.set_num_threads(1)
    lm = recurrent.LanguageModel(model_dir)
    for text in ["Call me Ishmael.", "The whale!"]:
        ref = json.loads(cli("score", "--model", model_dir, "--json", text))
        log_prob, tokens = lm.score(text)
        assert math.isclose(log_prob, ref["log_prob"], rel_tol=1e-12, abs_tol=1e-12), (log_prob, ref["log_prob"])
        assert [t for t, _, _ in tokens] == [t["token"] for t in ref["tokens"]]
        for (_, p, unk), r in zip(tokens, ref["tokens"]):
            assert math.isclose(p, r["prob"], rel_tol=1e-12, abs_tol=1e-15) and unk == r["unk"]


@needs_cli
def test_sample_matches_cli(model_dir):
    recurrent.set_num_threads(1)
    lm = recurrent.LanguageModel(model_dir)
    for kw in [dict(seed=5, temperature=0.8, top_k=10), dict(seed=9, beam=3)]:
        args = ["sample", "--model", model_dir, "--prime", "Call me", "--length", "60"]
        for k, v in kw.items():
            args += [f"--{k.replace('_', '-')}", str(v)]
        assert lm.sample("Call me", length=60, **kw) + "\n" == cli(*args)


def test_missing_model_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        recurrent.LanguageModel(str(tmp_path / "nothing-here"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError) as e:
        recurrent.LanguageModel(str(tmp_path / "empty"))
    assert "\n" not in str(e.value)
