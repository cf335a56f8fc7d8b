"""recurrent.predict: CLI-trained text models used from Python give `recurrent predict --format jsonl`'s
records (issue 21: classifier / tagger / language model predict from Python)."""
import json
import os
import subprocess

import pytest

import recurrent

BIN = os.environ.get("RECURRENT_BIN", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_cli = pytest.mark.skipif(not os.path.isfile(BIN), reason="RECURRENT_BIN (the CLI) not given; ctest sets it")

POS = ["good great fine", "great film good", "fine good fun", "fun great"]
NEG = ["bad awful poor", "poor bad film", "awful dull bad", "dull poor"]


def run(*args):
    return subprocess.run([BIN, "--threads", "1", *args], check=True, capture_output=True, text=True).stdout


def cli_predict(model, lines, *extra):
    out = subprocess.run([BIN, "--threads", "1", "predict", "--model", model, "--format", "jsonl", *extra],
                         input="\n".join(lines) + "\n", check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict")
    tsv, conll = d / "sent.tsv", d / "tags.conll"
    tsv.write_text("".join(f"pos\t{s}\n" if i % 2 == 0 else f"neg\t{NEG[i // 2 % 4]}\n"
                           for i, s in enumerate(POS * 10)))
    conll.write_text("".join("the\tDET\ncat\tNOUN\nsat\tVERB\n\n" if i % 2 else "a\tDET\ndog\tNOUN\nran\tVERB\n\n"
                             for i in range(40)))
    small = ["--hidden", "8", "--max-steps", "4", "--seed", "1", "--quiet"]
    run("train", "classify", "--data", str(tsv), "--out", str(d / "cls"), *small)
    run("train", "tag", "--data", str(conll), "--out", str(d / "tag"), *small)
    run("train", "lm", "--data", os.path.join(REPO, "tests/fixtures/lm/moby_train.txt"), "--level", "char",
        "--embed", "8", "--seq-len", "16", "--batch", "4", "--out", str(d / "lm"), *small)
    return {k: str(d / k) for k in ("cls", "tag", "lm")}


@needs_cli
def test_classifier_tagger_lm_as_the_cli(models):
    recurrent.set_num_threads(1)
    lines = ["good fun film", "awful poor", "", "dull"]
    ours = recurrent.predict(models["cls"], lines)
    assert ours == cli_predict(models["cls"], lines)
    assert [r["line"] for r in ours] == [1, 2, 4] and set(ours[0]["probs"]) == {"pos", "neg"}
    tags = recurrent.predict(models["tag"], "the dog sat\na cat ran\n")
    assert tags == cli_predict(models["tag"], ["the dog sat", "a cat ran"])
    assert [len(r["tags"]) for r in tags] == [3, 3]
    nxt = recurrent.predict(models["lm"], ["Call me", "The whal"], top_k=3)
    assert nxt == cli_predict(models["lm"], ["Call me", "The whal"], "--top-k", "3")
    assert len(nxt[0]["next"]) == 3


def test_predict_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        recurrent.predict(str(tmp_path / "none"), ["x"])
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.safetensors"):
        recurrent.predict(str(tmp_path / "bad.safetensors"), ["x"])
