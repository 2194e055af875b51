"""The head layer under ``expclip`` and ``render``: what both need and nothing above them.

* :mod:`head.arkit`: the 52 ARKit blendshape names and weight I/O;
* :mod:`head.rig`: the ICT-FaceKit rig (neutral mesh + 52 deltas + 30 identity modes), built from
  :mod:`head.assets`; :mod:`head.identity`: which face (seeds, coefficient files, the default head);
* :mod:`head.landmarks`: MediaPipe's face mesh (478 landmarks); :mod:`head.correspondence`: where
  each of them lies on the rig (built by rendering: :mod:`render.correspondence_build`);
* :mod:`head.geometry`: similarity alignment and the pixel → rig axes;
* :mod:`head.files`: atomic writes; :mod:`head.media`: the ffmpeg binary.

Nothing here imports ``expclip``, ``render``, ``train`` or the app (``tests/test_layers.py`` checks it).
"""
