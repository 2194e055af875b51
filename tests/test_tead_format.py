"""The TEAD on-disk format, readers for users' files, and the torch Dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from expclip import facs
from head import arkit
from expclip.tead import (
    TeadDataset,
    TeadFormatError,
    TeadSample,
    read_meta,
    read_samples,
    sample_from_json,
    split_by_seed,
    write_tead,
)


def _sample(i: int) -> TeadSample:
    aus = {"6": 0.4, "12": round(0.3 + i / 100, 2)}
    return TeadSample(f"so happy number {i}!", ["happy", "glad", "joy"], aus, facs.describe(aus),
                      f"A person is happy for the {i}th time.", facs.aus_to_blendshapes(aus), {"happiness": 0.7})


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    samples = [_sample(i) for i in range(20)]
    train, test = split_by_seed(samples, seed=3, test_share=0.1)
    assert len(train) == 18 and len(test) == 2
    assert split_by_seed(samples, 3)[1][0].transcript == test[0].transcript
    write_tead(tmp_path / "tead", train, test, {"seed": 3, "annotator": "unit"})
    meta = read_meta(tmp_path / "tead")
    assert meta == {"format": "tead", "version": 1, "seed": 3, "annotator": "unit", "counts": {"train": 18, "test": 2}}
    back = read_samples(tmp_path / "tead", "train")
    assert [s.transcript for s in back] == [s.transcript for s in train]
    np.testing.assert_allclose(back[0].blendshapes, train[0].blendshapes, atol=1e-4)
    assert back[0].aus == train[0].aus and back[0].emotions == {"happiness": 0.7}
    line = json.loads((tmp_path / "tead" / "test.jsonl").read_text().splitlines()[0])
    assert list(line) == ["transcript", "tags", "aus", "au_text", "situation", "blendshapes", "emotions"]
    assert list(line["blendshapes"]) == list(arkit.BLENDSHAPE_NAMES)
    assert not list((tmp_path / "tead").glob(".*partial"))


def test_corrupt_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    good = json.dumps(_sample(0).to_json())
    path.write_text(good + "\n\n" + good.replace('"tags"', '"tagz"').replace('"aus": {', '"aus": {"4": "Q", ') + "\n")
    with pytest.raises(TeadFormatError, match=r"mine.jsonl:3: Intensity of AU 4 'Q' is not a FACS letter"):
        read_samples(path)
    path.write_text(good + "\n{not json\n")
    with pytest.raises(TeadFormatError, match=r"mine.jsonl:2: not a valid UTF-8 JSON line"):
        read_samples(path)
    path.write_bytes(b'{"transcript": "caf\xe9"}\n')
    with pytest.raises(TeadFormatError, match=r"mine.jsonl:1: not a valid UTF-8"):
        read_samples(path)
    path.write_text('{"transcript": "hi", "tags": ["x"], "aus": {"99": "B"}}\n')
    with pytest.raises(TeadFormatError, match=r"mine.jsonl:1: AU99 is not in the catalogue"):
        read_samples(path)
    path.write_text('{"transcript": "hi", "tags": ["x"]}\n')
    with pytest.raises(TeadFormatError, match="needs 'aus' or 'blendshapes'"):
        read_samples(path)
    other = tmp_path / "mine.txt"
    other.write_text("")
    with pytest.raises(TeadFormatError, match="accepted are a directory, .jsonl and .csv"):
        read_samples(other)
    with pytest.raises(TeadFormatError, match="TEAD directory: train.jsonl is missing"):
        read_samples(tmp_path)


def test_users_own_files_fill_in_blendshapes_and_au_text(tmp_path: Path) -> None:
    path = tmp_path / "paper-style.jsonl"
    path.write_text(json.dumps({"transcript": "ugh gross", "tags": "disgusted; grossed out", "aus": "9D+10C"}) + "\n")
    (sample,) = read_samples(path)
    assert sample.tags == ["disgusted", "grossed out"]
    np.testing.assert_allclose(sample.blendshapes, facs.aus_to_blendshapes({"9": "D", "10": "C"}))
    assert sample.au_text == "nose strongly wrinkled, upper lip raised"

    with_columns = tmp_path / "named.csv"
    weights = facs.aus_to_blendshapes(["4", "7"])
    with with_columns.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "tags", "aus", "situation", *arkit.BLENDSHAPE_NAMES])
        writer.writerow(["so mad", "angry,mad,cross", '{"4": "C", "7": 0.6}', "A driver is cut off.", *weights])
    (row,) = read_samples(with_columns)
    assert row.transcript == "so mad" and row.aus == {"4": 0.6, "7": 0.6} and row.situation == "A driver is cut off."
    np.testing.assert_allclose(row.blendshapes, weights, atol=1e-6)

    partial = tmp_path / "partial.csv"
    partial.write_text("transcript,tags,jawOpen\nhi,x,0.5\n")
    with pytest.raises(TeadFormatError, match="blendshape columns are incomplete"):
        read_samples(partial)
    minimal = tmp_path / "minimal.csv"
    minimal.write_text("transcript,tags,aus\nwow,surprised,1+2+5B+26\n")
    assert read_samples(minimal)[0].aus == {"1": 0.6, "2": 0.6, "5": 0.4, "26": 0.6}


def test_meta_of_another_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text(json.dumps({"format": "tead", "version": 99}))
    with pytest.raises(TeadFormatError, match="is not TEAD version 1"):
        read_meta(tmp_path)


def test_dataset_draws_texts_from_all_sources_reproducibly() -> None:
    samples = [_sample(i) for i in range(40)]
    dataset = TeadDataset(samples, seed=5)
    text, weights = dataset[3]
    assert isinstance(weights, torch.Tensor) and weights.shape == (52,) and weights.dtype == torch.float32
    first = [dataset[i][0] for i in range(40)]
    assert first == [dataset[i][0] for i in range(40)]
    kinds = set()
    for i, t in enumerate(first):
        kinds |= {source for source in ("transcript", "tags", "situation", "au_text") if t == samples[i].text(source)}
    assert kinds == {"transcript", "tags", "situation", "au_text"}
    dataset.set_epoch(1)
    assert [dataset[i][0] for i in range(40)] != first
    only_tags = TeadDataset(samples, sources=("tags",))
    assert only_tags[0][0] == "happy, glad, joy"
    seen = []
    TeadDataset(samples, text_transform=lambda t, rng: t.upper(),
                blendshape_transform=lambda w, rng, t: seen.append(t) or w * 0)[0]
    assert seen and seen[0].isupper()
    with pytest.raises(ValueError, match="Text sources must be chosen from"):
        TeadDataset(samples, sources=("poem",))


def test_sample_from_json_rejects_empty_transcript() -> None:
    with pytest.raises(TeadFormatError, match="line 7: 'transcript' must be a non-empty string"):
        sample_from_json({"transcript": " ", "aus": {}}, "line 7")
