"""Measure a checkpoint's image calibration on renders, stored beside its weights (:mod:`expclip.image_calibration`).

    python -m train.expclip.image_calibration --checkpoint checkpoints/expclip-small [--data data/mead3d-synthetic]

Reads MEAD-3D-synthetic's test split (random ICT faces under varied pose and light, held out from P_img's
training) with the checkpoint's P_img and the fit, and writes ``image_calibration.json`` into the checkpoint.
Run it after every ``fit-image`` (or ``fit``) that changes P_img or the decoder: the pipeline ignores, with a
note, a calibration measured with other weights. Takes about 15 s for the 600 renders.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from expclip.image_calibration import ImageCalibration, fingerprint, measure
from head.arkit import BLENDSHAPE_NAMES


def calibrate_checkpoint(checkpoint: str | Path, data: str | Path = "data/mead3d-synthetic",
                         progress: bool = True) -> ImageCalibration:
    """Measure the calibration of ``checkpoint`` on the test renders of ``data`` and save it there."""
    from expclip.fitting import default_fitter
    from expclip.image_pipeline import load_image_pipeline
    from expclip.landmarks import FaceLandmarks
    from expclip.mead3d import load_landmarks, read_records

    pipe = load_image_pipeline(checkpoint, neutral_face="rig")  # renders of the rig: its own neutral
    if not pipe.has_projector:
        raise ValueError(f"{checkpoint} has no image projector to calibrate; train one with "
                         "`python -m train.expclip fit-image` first.")
    records = read_records(data, "test")
    landmarks = load_landmarks(data, records).astype(np.float64)
    fitter = default_fitter()
    fits = [fitter.fit(points) for points in tqdm(landmarks, desc="fitting renders", disable=not progress)]
    faces = [FaceLandmarks(points.astype(np.float32), (*points[:, :2].min(0), *points[:, :2].max(0)), (0, 0))
             for points in landmarks]
    blank = np.zeros((1, 1, 3), np.uint8)  # the landmark encoder reads the landmarks only
    projected = pipe._project([blank] * len(faces), faces, fits)
    calibration = measure(projected, np.stack([f.weights for f in fits]), np.stack([r.blendshapes for r in records]),
                          fingerprint(pipe.model))
    calibration.save(checkpoint)
    return calibration


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.expclip.image_calibration",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="ExpCLIP checkpoint with P_img (written into)")
    parser.add_argument("--data", type=Path, default=Path("data/mead3d-synthetic"), help="MEAD-3D-synthetic dataset")
    args = parser.parse_args(argv)
    calibration = calibrate_checkpoint(args.checkpoint, args.data)
    top = np.argsort(-calibration.neutral)[:5]
    print(json.dumps({"calibration": str(args.checkpoint),
                      "largest_floors": {BLENDSHAPE_NAMES[i]: round(float(calibration.neutral[i]), 3) for i in top},
                      "largest_asymmetry_zone": round(float(calibration.asymmetry.max()), 3)}))


if __name__ == "__main__":
    main()
