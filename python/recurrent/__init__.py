"""recurrent: recurrent neural networks on CPUs (RNN, LSTM, GRU and variants) from Python.

    import numpy as np, recurrent
    rnn = recurrent.RNN("lstm", input_size=8, hidden_size=32, num_layers=2, bidirectional=True, seed=1)
    x = np.random.randn(20, 4, 8).astype(np.float32)          # [T, B, I]
    fwd = rnn.forward(x, lengths=[20, 17, 9, 3], requires_grad=True)
    fwd.output.shape, fwd.h_n.shape, fwd.c_n.shape              # (20, 4, 64) (4, 4, 32) (4, 4, 32)
    dx, dh0, dc0, dw = fwd.backward(grad_output=np.ones_like(fwd.output))

recurrent.load_safetensors / save_safetensors read and write checkpoints as dicts of arrays (PyTorch's
state_dict names). recurrent.LanguageModel(dir) scores and samples a model trained by `recurrent train lm`, as the CLI does.
recurrent.torch has drop-in replacements for torch.nn.LSTM / GRU / RNN, and recurrent.torch.LanguageModel,
the CLI's language model in PyTorch (train it in Python, save it, run it with `recurrent sample/score/eval`);
recurrent.Vocab builds its vocabulary by the CLI's rules. recurrent.predict(model, lines) runs a CLI-trained
classifier, tagger, language model or encoder-decoder as `recurrent predict --format jsonl` does. Arrays go in without copies
(float32, C-contiguous, else ValueError) and come out as views of the engine's memory; errors from
the engine are ValueError with the library's one-line message. docs/python.md has the rest.
"""
from ._recurrent import (RNN, Forward, LanguageModel, Vocab, cell_names, load_safetensors, num_threads, predict,
                         save_safetensors, set_flush_denormal, set_num_threads)

__all__ = ["RNN", "Forward", "LanguageModel", "Vocab", "cell_names", "load_safetensors", "num_threads", "predict",
           "save_safetensors", "set_flush_denormal", "set_num_threads"]
__version__ = "0.1.0"
