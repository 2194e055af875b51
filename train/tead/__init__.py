"""TEAD builders: the offline annotator, the LLM annotator and dataset statistics (``python -m train.tead``)."""
