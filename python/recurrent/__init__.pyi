from ._recurrent import RNN as RNN, Forward as Forward, LanguageModel as LanguageModel, cell_names as cell_names, load_safetensors as load_safetensors, save_safetensors as save_safetensors, num_threads as num_threads, set_num_threads as set_num_threads, set_flush_denormal as set_flush_denormal, Vocab as Vocab, predict as predict

__version__: str
