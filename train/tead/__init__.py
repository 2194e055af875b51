"""TEAD builders: the LLM annotator and dataset statistics (``python -m train.tead``); the offline annotator
is the library's (:mod:`expclip.tead_offline`), since the demo builds a small TEAD with it."""
