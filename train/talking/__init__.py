"""Talking clips for the speech generator: the espeak-ng corpus builder and other sources (`python -m train.talking`)."""
