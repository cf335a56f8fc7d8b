"""recurrent.load_safetensors / save_safetensors: PyTorch state_dict names both ways, and files written
from Python used by the CLI (`recurrent forward` runs a network saved from Python on an input saved
from Python and gives the drop-in's numbers; issue 21, acceptance 4's direction Python -> CLI)."""
import os
import subprocess

import numpy as np
import pytest

import recurrent

BIN = os.environ.get("RECURRENT_BIN", "")


def test_round_trip_and_errors(tmp_path):
    p = str(tmp_path / "t.safetensors")
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    lengths = np.array([3, 1], dtype=np.int64)
    recurrent.save_safetensors(p, {"weight_ih_l0": a, "lengths": lengths}, {"note": "from python"})
    t, meta = recurrent.load_safetensors(p)
    assert sorted(t) == ["lengths", "weight_ih_l0"] and meta == {"note": "from python"}
    np.testing.assert_array_equal(t["weight_ih_l0"], a)
    assert t["lengths"].dtype == np.int64 and t["lengths"].tolist() == [3, 1]
    with pytest.raises(FileNotFoundError):
        recurrent.load_safetensors(str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="x: expected dtype float32, got float64"):
        recurrent.save_safetensors(p, {"x": np.zeros(2)})
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}")
    with pytest.raises(ValueError) as e:
        recurrent.load_safetensors(str(tmp_path / "bad.safetensors"))
    assert "bad.safetensors" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.skipif(not os.path.isfile(BIN), reason="RECURRENT_BIN (the CLI) not given; ctest sets it")
def test_cli_runs_a_network_saved_from_python(tmp_path):
    torch = pytest.importorskip("torch")
    import recurrent.torch as rt
    torch.manual_seed(2)
    m = rt.LSTM(5, 6, num_layers=2, bidirectional=True, proj_size=3)
    x = torch.randn(7, 3, 5)
    lengths = [7, 4, 2]
    with torch.no_grad():
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out, (h, c) = m(packed)
        out = torch.nn.utils.rnn.pad_packed_sequence(out)[0]
    d = str(tmp_path)
    recurrent.save_safetensors(f"{d}/w.safetensors", {k: v.numpy() for k, v in m.state_dict().items()})
    recurrent.save_safetensors(f"{d}/x.safetensors", {"input": x.numpy()})
    recurrent.save_safetensors(f"{d}/l.safetensors", {"lengths": np.array(lengths, dtype=np.int64)})
    subprocess.run([BIN, "--threads", "1", "forward", "--weights", f"{d}/w.safetensors", "--cell", "lstm", "--layers", "2",
                    "--bidirectional", "--proj-size", "3", "--input", f"{d}/x.safetensors", "--lengths",
                    f"{d}/l.safetensors", "--output", f"{d}/y.safetensors"], check=True, capture_output=True)
    y, _ = recurrent.load_safetensors(f"{d}/y.safetensors")
    np.testing.assert_allclose(y["output"], out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y["h_n"], h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y["c_n"], c.numpy(), rtol=1e-5, atol=1e-6)
    # and back: the weights loaded from the file into a fresh drop-in give the same state_dict
    w, _ = recurrent.load_safetensors(f"{d}/w.safetensors")
    m2 = rt.LSTM(5, 6, num_layers=2, bidirectional=True, proj_size=3)
    m2.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    for k, v in m.state_dict().items():
        assert torch.equal(m2.state_dict()[k], v)
