"""Weights to pixels: the ICT-FaceKit head rig, an offscreen renderer and a video writer."""
