"""Training and evaluating the speech-driven animation generator (``python -m train.generator``)."""
