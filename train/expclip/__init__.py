"""ExpCLIP training and evaluation (``python -m train.expclip fit|eval``)."""
