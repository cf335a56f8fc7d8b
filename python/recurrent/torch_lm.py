"""recurrent.torch.LanguageModel: `recurrent train lm`'s model (an RNN language model) as a torch.nn.Module,
built, trained and run in PyTorch on recurrent's layers, and saved in the CLI's model format, so that
`recurrent score / sample / eval --model DIR` run a model trained from Python (and give its numbers);
LanguageModel.load(DIR) brings a model trained by the CLI into PyTorch.

    vocab = recurrent.Vocab.build(text, level="char")         # the CLI's vocabulary rules
    lm = recurrent.torch.LanguageModel(vocab, embed=64, hidden=256, num_layers=2, cell="lstm", dropout=0.1)
    logits, state = lm(ids)                                     # ids [T, B] int64 -> logits [T, B, V]
    lm.save("runs/py")                                          # then: recurrent sample --model runs/py

The architecture is the CLI's (include/recurrent/tasks/lm.h): embedding [V, E] -> dropout -> LSTM/GRU/RNN
stack (recurrent.torch, dropout between layers) -> dropout -> linear [V, R] (tied to the embedding with
tie_weights) -> logits. The submodules are named embedding, rnn and decoder, so state_dict's names are the
checkpoint's (embedding.weight, rnn.weight_ih_l0, ..., decoder.weight, decoder.bias) and the initialisation
is the CLI's (PyTorch's defaults; a tied embedding U(-0.1, 0.1)).
"""
import math

import torch as _torch

from . import _recurrent
from .torch import GRU, LSTM, RNN

__all__ = ["LanguageModel"]

# The cells torch.nn has (the CLI's other cells have no torch.nn counterpart to train here).
_RNNS = {"lstm": (LSTM, {}), "gru": (GRU, {}), "rnn_tanh": (RNN, {"nonlinearity": "tanh"}),
         "rnn_relu": (RNN, {"nonlinearity": "relu"})}


class LanguageModel(_torch.nn.Module):
    """ids [T, B] (int64, time-major) -> (logits [T, B, V], state): the CLI's RNN language model in PyTorch."""

    def __init__(self, vocab, embed=64, hidden=256, num_layers=1, cell="lstm", proj_size=0, dropout=0.0,
                 tie_weights=False):
        super().__init__()
        if not isinstance(vocab, _recurrent.Vocab):
            raise ValueError(f"vocab: expected a recurrent.Vocab, got {type(vocab).__name__}")
        if cell not in _RNNS:
            raise ValueError(f"cell: expected one of {', '.join(_RNNS)} (the cells torch.nn has), got '{cell}'")
        if proj_size and cell != "lstm":
            raise ValueError("proj_size: applies to cell='lstm' only")
        R = proj_size or hidden
        if tie_weights and R != embed:
            raise ValueError(f"tie_weights: needs the embedding size ({embed}) equal to the last layer's output size ({R})")
        self.vocab, self.cell, self.embed, self.hidden = vocab, cell, embed, hidden
        self.num_layers, self.proj_size, self.dropout, self.tie_weights = num_layers, proj_size, dropout, tie_weights
        cls, kw = _RNNS[cell]
        if proj_size:
            kw = dict(kw, proj_size=proj_size)
        self.embedding = _torch.nn.Embedding(len(vocab), embed)
        self.rnn = cls(embed, hidden, num_layers, dropout=dropout if num_layers > 1 else 0.0, **kw)
        self.drop = _torch.nn.Dropout(dropout)
        self.decoder = _torch.nn.Linear(R, len(vocab))
        if tie_weights:  # the CLI's (and PyTorch's word LM example's) initialisation of a shared matrix
            _torch.nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            self.decoder.weight = self.embedding.weight

    def forward(self, ids, state=None):
        """ids [T, B] -> logits [T, B, V] and the final state (h_n, or (h_n, c_n) for an LSTM)."""
        y, state = self.rnn(self.drop(self.embedding(ids)), state)
        return self.decoder(self.drop(y)), state

    # ---- the CLI's model format ------------------------------------------------------------------------
    def save(self, path):
        """Write the model as `recurrent train lm` writes one: path a directory (-> path/best.safetensors, the
        file `--model path` reads) or a .safetensors file. Returns the file written."""
        tensors = {n: t.detach().float().contiguous().numpy() for n, t in self.state_dict().items()
                   if not (self.tie_weights and n == "decoder.weight")}
        layers = [(self.cell, self.hidden, self.proj_size)] * self.num_layers
        return _recurrent._save_lm(str(path), self.vocab, self.embed, layers, float(self.dropout), self.tie_weights,
                                   tensors)

    @classmethod
    def load(cls, path):
        """A model written by `recurrent train lm` (or save) as a LanguageModel, in eval mode. Only what
        torch.nn can run loads: an RNN LM whose layers share one torch.nn cell and size, without recurrent
        dropout or zoneout; anything else is ValueError."""
        import json
        import os
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file or directory")
        file = _recurrent._resolve_model_path(str(path))
        tensors, meta = _recurrent.load_safetensors(file)
        where = f"{file}: recurrent.config"
        try:
            cfg = json.loads(meta["recurrent.config"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"{where}: missing or not JSON ({e})") from None
        if cfg.get("task") != "lm" or cfg.get("arch", "rnn") != "rnn":
            raise ValueError(f"{where}: expected an RNN language model (task 'lm'), got task '{cfg.get('task')}' "
                             f"arch '{cfg.get('arch', 'rnn')}'")
        layers = cfg["layers"]
        first = layers[0]
        for l in layers:
            if (l["cell"], l["hidden"], l.get("proj", 0)) != (first["cell"], first["hidden"], first.get("proj", 0)) \
                    or l.get("recurrent_dropout", 0) or l.get("zoneout", 0):
                raise ValueError(f"{where}: layers {[l['cell'] for l in layers]} with these sizes/options have no "
                                 "torch.nn stack (one cell and size for every layer, no recurrent dropout or zoneout)")
        vocab = _recurrent.Vocab(cfg["level"], cfg["vocab"], cfg["lower"])
        m = cls(vocab, cfg["embed"], first["hidden"], len(layers), first["cell"], first.get("proj", 0), cfg["dropout"],
                cfg["tie_weights"])
        state = {n[len("model."):]: _torch.from_numpy(a) for n, a in tensors.items() if n.startswith("model.")}
        if m.tie_weights:
            state["decoder.weight"] = state["embedding.weight"]
        m.load_state_dict(state)
        return m.eval()

    # ---- the CLI's figures, computed in PyTorch ---------------------------------------------------------
    @_torch.no_grad()
    def log_prob(self, text):
        """log P(text | start) in nats, as `recurrent score` computes it (the start token, then the line's
        tokens; words: and the final <eos>)."""
        ids = list(self.vocab.context_ids(text))
        if self.vocab.level == "word":
            ids.append(1)  # <eos>
        if len(ids) < 2:
            raise ValueError("text: nothing to score (empty text)")
        was = self.training
        self.eval()
        logits, _ = self(_torch.tensor(ids[:-1]).unsqueeze(1))
        self.train(was)
        lp = _torch.log_softmax(logits[:, 0], dim=-1)
        return float(lp[_torch.arange(len(ids) - 1), _torch.tensor(ids[1:])].double().sum())

    @_torch.no_grad()
    def evaluate(self, text, seq_len=100):
        """{"tokens", "loss_nats", "bits_per_token", "perplexity"} of every prediction of the text's ids from
        the ones before it, in one stream (state carried over chunks of seq_len): `recurrent eval --batch 1`."""
        ids = _torch.from_numpy(self.vocab.encode(text))
        if len(ids) < 2:
            raise ValueError("text: fewer than 2 tokens to evaluate")
        was = self.training
        self.eval()
        state, nats = None, 0.0
        for t0 in range(0, len(ids) - 1, seq_len):
            x = ids[t0:min(t0 + seq_len, len(ids) - 1)]
            logits, state = self(x.unsqueeze(1), state)
            nats += float(_torch.nn.functional.cross_entropy(logits[:, 0], ids[t0 + 1:t0 + 1 + len(x)], reduction="sum"))
        self.train(was)
        n = len(ids) - 1
        return {"tokens": n, "loss_nats": nats / n, "bits_per_token": nats / n / math.log(2),
                "perplexity": math.exp(nats / n)}
