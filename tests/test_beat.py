"""BEAT reader: take names (emotion, split), face JSON at 60 fps → 30 fps clips, names reordered, resume."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from expclip.audio import num_frames
from expclip.clips import load_audio, load_weights, read_meta, read_records, write_wav
from head.arkit import BLENDSHAPE_NAMES, INDEX
from train.talking.beat import BEAT_EMOTIONS, BeatError, add_cli, build_from_beat, parse_take, read_face_json, resample

SECONDS = 2.0


def jaw(t):
    return 0.5 + 0.4 * np.sin(2 * np.pi * 1.5 * t)


def _names_shuffled() -> list[str]:
    """BEAT's 51 names (no tongueOut), capitalised and reordered, plus a head-rotation column."""
    names = [n for n in BLENDSHAPE_NAMES if n != "tongueOut"]
    rng = np.random.default_rng(0)
    names = [names[i] for i in rng.permutation(len(names))]
    return [n[0].upper() + n[1:] for n in names] + ["HeadYaw"]


def write_take(folder: Path, stem: str, face_seconds: float = SECONDS, audio_seconds: float = SECONDS,
               rate: int = 48_000, offset: float = 0.0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = _names_shuffled()
    frames = []
    for j in range(round(face_seconds * 60)):
        t = j / 60
        values = {"JawOpen": jaw(t), "BrowInnerUp": t / face_seconds, "HeadYaw": 0.3}
        frames.append({"time": offset + t, "weights": [values.get(n, 0.0) for n in names], "rotation": [0, 0, 0]})
    (folder / f"{stem}.json").write_text(json.dumps({"names": names, "frames": frames}))
    t = np.arange(int(audio_seconds * rate)) / rate
    write_wav(folder / f"{stem}.wav", 0.2 * np.sin(2 * np.pi * 180 * t) * (t % 0.5 < 0.3), rate)


def write_textgrid(path: Path, words: list[tuple[float, float, str]]) -> None:
    intervals = "".join(f'        intervals [{i + 1}]:\n            xmin = {a}\n            xmax = {b}\n'
                        f'            text = "{w}"\n' for i, (a, b, w) in enumerate(words))
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 2\ntiers? <exists>\n'
                    f'size = 1\nitem []:\n    item [1]:\n        class = "IntervalTier"\n        name = "words"\n'
                    f'        intervals: size = {len(words)}\n{intervals}')


@pytest.fixture(scope="module")
def beat(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("beat") / "beat_english_v0.2.1"
    speaker = root / "2"
    write_take(speaker, "2_scott_0_65_65")  # happiness, one of BEAT's test takes
    write_textgrid(speaker / "2_scott_0_65_65.TextGrid", [(0.0, 0.4, "so"), (0.4, 0.5, ""), (0.5, 1.2, "happy")])
    write_take(speaker, "2_scott_0_9_9", offset=1234.5)  # neutral, train; stamps from a capture clock
    write_take(speaker, "2_scott_1_2_2", face_seconds=1.7)  # conversation; face ends 0.3 s early: held
    write_take(speaker, "2_scott_0_74_74", face_seconds=1.0)  # anger; face ends 1 s early: the audio is cut
    write_take(root / "5", "5_stewart_2_3_3")  # Chinese speech: not read by default
    (speaker / "2_scott_0_10_10.json").write_text("{not json")
    (speaker / "2_scott_0_11_11.json").write_text(json.dumps({"frames": [{"time": 0, "weights": [0.1]}]}))
    for broken in ("2_scott_0_10_10", "2_scott_0_11_11"):
        (speaker / f"{broken}.wav").write_bytes((speaker / "2_scott_0_9_9.wav").read_bytes())
    (speaker / "2_scott_0_12_12.json").write_text((speaker / "2_scott_0_9_9.json").read_text())  # no wav
    (root / "notes.json").write_text("{}")
    return root


def test_take_names_give_emotion_speaker_and_split():
    take = parse_take("2_scott_0_65_65")
    assert (take.speaker, take.language, take.scenario, take.emotion, take.emotion_id) == (
        "2_scott", "english", "speech", "happiness", 1)
    expected = {1: "neutral", 64: "neutral", 65: "happiness", 73: "anger", 81: "sadness", 86: "sadness",
                87: "contempt", 95: "surprise", 103: "fear", 111: "disgust", 118: "disgust"}
    for start, emotion in expected.items():
        assert parse_take(f"1_wayne_0_{start}_{start}").emotion == emotion
    assert parse_take("2_scott_1_3_3").emotion == "neutral"
    assert parse_take("16_jorge_2_5_5").emotion == "" and parse_take("16_jorge_2_5_5").language == "chinese"
    assert parse_take("notes") is None and parse_take("2_scott_0_1") is None
    assert BEAT_EMOTIONS.index("disgust") == 7
    assert [parse_take(s).official_split() for s in ("2_scott_0_1_1", "2_scott_0_8_8", "2_scott_0_9_9",
                                                     "2_scott_0_65_65", "2_scott_0_66_66", "2_scott_1_1_1",
                                                     "5_stewart_0_5_5", "5_stewart_0_4_4")] == [
        "test", "test", "train", "test", "train", "test", "train", "test"]


def test_face_json_names_are_matched_and_resampled(beat):
    track = read_face_json(beat / "2" / "2_scott_0_65_65.json")
    assert track.ignored == ("HeadYaw",) and track.missing == ("tongueOut",)
    assert track.fps == pytest.approx(60.0) and track.seconds == pytest.approx(SECONDS)
    weights = resample(track, 60)
    instants = np.arange(60) / 30
    np.testing.assert_allclose(weights[:, INDEX["jawOpen"]], jaw(instants), atol=2e-3)
    np.testing.assert_allclose(weights[:, INDEX["browInnerUp"]], np.minimum(instants / SECONDS, (119 / 60) / SECONDS),
                               atol=1e-5)
    assert np.all(weights[:, INDEX["tongueOut"]] == 0)
    clocked = read_face_json(beat / "2" / "2_scott_0_9_9.json")
    assert clocked.times[0] == 0.0  # a capture clock's offset is removed


def test_build_writes_clips_at_30_fps(beat, tmp_path):
    out = tmp_path / "clips"
    meta = build_from_beat(beat, out, progress=False)
    assert meta["builder"] == "beat" and meta["fps"] == 30.0 and meta["clips"] == {"train": 3, "test": 1}
    assert meta["ignored_names"] == ["HeadYaw"] and meta["missing_names"] == ["tongueOut"]
    skipped = "\n".join(meta["skipped_files"])
    assert "2_scott_0_10_10.json: 2_scott_0_10_10.json is not readable JSON" in skipped
    assert "2_scott_0_11_11.json has 1 weights per frame and no 'names'" in skipped and "no 2_scott_0_12_12.wav" in skipped and len(meta["skipped_files"]) == 3
    test = read_records(out, "test")
    assert [r.id for r in test] == ["2_scott_0_65_65"]
    record = test[0]
    assert (record.emotion, record.speaker, record.text, record.frames) == ("happiness", "2_scott", "so happy", 60)
    audio, weights = load_audio(out, record), load_weights(out, record)
    assert len(audio) == 32_000 and weights.shape == (num_frames(len(audio)), 52) == (60, 52)
    np.testing.assert_allclose(weights[:, INDEX["jawOpen"]], jaw(np.arange(60) / 30), atol=3e-3)
    train = {r.id: r for r in read_records(out, "train")}
    assert set(train) == {"2_scott_0_9_9", "2_scott_1_2_2", "2_scott_0_74_74"}
    held = load_weights(out, train["2_scott_1_2_2"])
    assert held.shape == (60, 52) and train["2_scott_1_2_2"].emotion == "neutral"
    assert np.all(held[52:, INDEX["browInnerUp"]] == held[51, INDEX["browInnerUp"]])  # held after 1.7 s
    cut = train["2_scott_0_74_74"]
    assert cut.seconds == pytest.approx(1.0) and cut.frames == 30 and cut.extra["audio_cut_to_face"]
    assert cut.emotion == "anger"

    again = build_from_beat(beat, out, progress=False)  # resumes: nothing new, the same failures listed
    assert again["clips"] == {"train": 3, "test": 1} and len(again["skipped_files"]) == 3


def test_long_takes_are_cut_into_aligned_pieces(beat, tmp_path):
    whole = build_from_beat(beat, tmp_path / "whole", split="random", test_share=0.0, speakers=[2], progress=False)
    pieces = build_from_beat(beat, tmp_path / "pieces", split="random", test_share=0.0, speakers=[2],
                             max_clip_seconds=0.8, progress=False)
    assert whole["clips"]["train"] == 4 and pieces["clips"]["train"] == 3 * 3 + 2  # 2 s takes → 3 pieces, the 1 s one → 2
    records = [r for r in read_records(tmp_path / "pieces", "train") if r.extra["take"] == "2_scott_0_65_65"]
    assert [r.id for r in records] == [f"2_scott_0_65_65-0{i}" for i in (1, 2, 3)]
    assert [r.frames for r in records] == [21, 21, 18]
    for r in records:
        assert r.frames == num_frames(len(load_audio(tmp_path / "pieces", r)))
    joined = np.concatenate([load_weights(tmp_path / "pieces", r) for r in records])
    reference = next(r for r in read_records(tmp_path / "whole", "train") if r.id == "2_scott_0_65_65")
    np.testing.assert_array_equal(joined, load_weights(tmp_path / "whole", reference))


def test_speaker_split_languages_and_errors(beat, tmp_path):
    meta = build_from_beat(beat, tmp_path / "held", split="speakers", test_speakers=[5],
                           languages=["english", "chinese"], progress=False)
    assert meta["clips"] == {"train": 4, "test": 1}
    assert read_records(tmp_path / "held", "test")[0].emotion == ""  # the name says nothing for Chinese speech
    with pytest.raises(BeatError, match="is not a folder"):
        build_from_beat(tmp_path / "nothing", tmp_path / "x")
    with pytest.raises(BeatError, match="holds no BEAT takes"):
        build_from_beat(beat / "2", tmp_path / "x", speakers=[7])
    with pytest.raises(BeatError, match="needs the test speakers"):
        build_from_beat(beat, tmp_path / "x", split="speakers")


def test_cli_registration(beat, tmp_path):
    parser = argparse.ArgumentParser(prog="python -m train.talking")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["beat", "--source", str(beat), "--out", str(tmp_path / "cli"), "--speakers", "2",
                              "--limit", "5", "--quiet"])  # 3 broken takes sort first
    meta = args.func(args)
    assert sum(meta["clips"].values()) == 2 and read_meta(tmp_path / "cli")["takes"] == 5
