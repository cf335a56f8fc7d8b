# Type stubs of the extension recurrent._recurrent (python/src/module.cpp), for editors and type checkers.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

class Forward:
    """The result of RNN.forward: outputs and, when recorded, the tape for backward."""
    @property
    def output(self) -> F32:
        """[T, B, D*R] ([B, T, D*R] with batch_first); zero past each length."""
    @property
    def h_n(self) -> F32:
        """[L*D, B, R]: each sequence's last state, PyTorch's layout."""
    @property
    def c_n(self) -> Optional[F32]:
        """[L*D, B, H] for LSTM stacks, else None."""
    def backward(self, grad_output: Optional[F32] = None, grad_h_n: Optional[F32] = None,
                 grad_c_n: Optional[F32] = None) -> Tuple[Optional[F32], Optional[F32], Optional[F32], Dict[str, Optional[F32]]]:
        """BPTT: (dx, dh0, dc0, {parameter name: gradient}); None where no gradient was asked for."""

class RNN:
    """A stack of recurrent layers on NumPy float32 arrays (PyTorch's parameter names and init)."""
    def __init__(self, cell: Union[str, Sequence[str]], input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, bidirectional: bool = False, proj_size: int = 0,
                 seed: int = 0, merge: str = "concat") -> None: ...
    @property
    def parameter_names(self) -> List[str]: ...
    @property
    def num_layers(self) -> int: ...
    @property
    def directions(self) -> int: ...
    def parameters(self) -> Dict[str, F32]:
        """{name: read-only view of the weights}"""
    def set_parameter(self, name: str, value: F32) -> None:
        """Copy `value` (float32, C-contiguous, the parameter's shape) into a parameter."""
    def buffers(self) -> Dict[str, F32]:
        """{name: copy} of the non-trained state saved with the model (lstm_bn's running statistics; else empty)."""
    def set_buffer(self, name: str, value: F32) -> None:
        """Replace a buffer (float32; its first dimension, the steps, may differ; the rest must match)."""
    def bind_parameters(self, arrays: List[F32], versions: List[int], requires_grad: List[bool]) -> None:
        """Use outside float32 arrays as the weights without copying; versions: the owner's write counters."""
    def forward(self, x: F32, lengths: Optional[Sequence[int]] = None, h0: Optional[F32] = None,
                c0: Optional[F32] = None, requires_grad: bool = False, x_grad: bool = True, h0_grad: bool = True,
                c0_grad: bool = True, training: bool = True) -> Forward:
        """x [T, B, I] ([B, T, I] with batch_first), float32 C-contiguous (no copies are made); lengths: B values
        in [1, T]; h0/c0: [L*D, B, R|H]. requires_grad records the tape for Forward.backward."""
    def infer(self, x: F32, lengths: Optional[Sequence[int]] = None, h0: Optional[F32] = None,
              c0: Optional[F32] = None) -> Tuple[F32, F32, Optional[F32]]:
        """Forward without a tape in one call: (output, h_n, c_n or None)."""
    def panel_cache_stats(self) -> Tuple[int, int]:
        """(hits, misses) of the packed-weight cache since construction."""
    def _time_infer(self, x: F32, calls: int, touch_bytes: int = 0) -> float:
        """Benchmark anchor: CPU microseconds per inference call of the engine alone (calls made from C++),
        reading touch_bytes of another buffer between calls (their own time subtracted)."""

class LanguageModel:
    """A model directory (or .safetensors file) written by `recurrent train lm`: score and sample as the CLI does."""
    def __init__(self, path: str) -> None: ...
    @property
    def path(self) -> str: ...
    def score(self, text: str) -> Tuple[float, List[Tuple[str, float, bool]]]:
        """(log-probability in nats, [(token, probability, unk)]) of `text` after the start token."""
    def sample(self, prime: str = "", length: int = 500, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
               seed: int = 1, beam: int = 0) -> str:
        """The prime and `length` generated tokens, as `recurrent sample` prints them."""

class Vocab:
    """A token vocabulary by the CLI's rules (chars: code points ascending; words: count descending; 0 <unk>, 1 <eos>)."""
    def __init__(self, level: str, tokens: List[str], lower: bool = False) -> None: ...
    @staticmethod
    def build(text: str, level: str = "char", lower: bool = False, min_count: int = 1, max_size: int = 0) -> "Vocab": ...
    @property
    def level(self) -> str: ...
    @property
    def lower(self) -> bool: ...
    @property
    def tokens(self) -> List[str]: ...
    def __len__(self) -> int: ...
    def encode(self, text: str) -> npt.NDArray[np.int64]:
        """Ids of a text as `recurrent train lm` / `eval` read a file (words: <eos> after every line)."""
    def context_ids(self, text: str = "") -> npt.NDArray[np.int64]:
        """The start token, then the tokens of one line: what `recurrent score` and `sample` feed first."""
    def render(self, id: int) -> str: ...

def predict(model: str, input: Union[str, Sequence[str]], top_k: int = 5, beam: int = 1, max_len: int = 0,
            length_penalty: float = 1.0, input_format: str = "auto") -> List[dict]:
    """A CLI-trained text model on new input, as `recurrent predict --format jsonl`: one dict per item."""

def _save_lm(path: str, vocab: Vocab, embed: int, layers: List[Tuple[str, int, int]], dropout: float, tie_weights: bool,
             tensors: Dict[str, F32]) -> str: ...
def _resolve_model_path(path: str) -> str: ...
def load_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """(tensors, metadata): floating dtypes as float32 arrays, integer ones as int64."""
def save_safetensors(path: str, tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None) -> None:
    """Write float32 (F32) and int64 (I64) arrays atomically."""
def cell_names() -> List[str]: ...
# recurrent.torch's inference call in C (python/src/torch_fast.cpp); internal.
def _torch_setup(tensor_type: object, is_grad_enabled: object, is_tracing: object, from_dlpack: object, float32: object,
                 module_type: object, global_hooks: List[dict], hook_names: List[str]) -> None: ...
def _torch_fast(cls: type, engine: RNN, batch_first: bool, weights: List[object]) -> object: ...
_torch_call: object
def num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def set_flush_denormal(mode: bool) -> bool: ...
