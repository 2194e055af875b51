"""Training side of ExpCLIP: dataset builders, training and evaluation entry points (not needed at inference)."""
