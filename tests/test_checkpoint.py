"""One loader for both kinds of checkpoint: ``config.json``'s ``kind`` (or, for old checkpoints, the model keys)
picks ExpCLIP or the speech generator, and a checkpoint of the wrong kind is refused with one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from expclip.checkpoint import (CheckpointError, checkpoint_kind, load_checkpoint, load_generator, load_model,
                                save_checkpoint)
from expclip.generator import Generator, GeneratorConfig
from expclip.model import ExpCLIP, ExpCLIPConfig
from expclip.paths import EXPCLIP_SMALL, GENERATOR_SMALL, default_checkpoint

EXPCLIP = ExpCLIPConfig(text_dim=16, embed_dim=8, width=16, heads=2, encoder_layers=1, decoder_layers=1, ff_mult=2,
                        projector_hidden=32, dropout=0.0)
GENERATOR = GeneratorConfig(audio_dim=24, expression_encoder={"embed_dim": 16, "width": 16}, width=32, heads=2,
                            decoder_layers=1, pool_layers=1, max_distance=8)


@pytest.fixture()
def saved(tmp_path: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "expclip", ExpCLIP(EXPCLIP), {})
    save_checkpoint(tmp_path / "generator", Generator(GENERATOR), {})
    return {"expclip": tmp_path / "expclip", "generator": tmp_path / "generator"}


def _drop_kind(directory: Path) -> None:
    config = json.loads((directory / "config.json").read_text())
    del config["kind"]
    (directory / "config.json").write_text(json.dumps(config))


def test_save_writes_the_kind_and_load_checkpoint_dispatches_on_it(saved) -> None:
    assert json.loads((saved["expclip"] / "config.json").read_text())["kind"] == "expclip"
    assert json.loads((saved["generator"] / "config.json").read_text())["kind"] == "generator"
    expclip, generator = load_checkpoint(saved["expclip"]), load_checkpoint(saved["generator"])
    assert isinstance(expclip, ExpCLIP) and expclip.config == EXPCLIP and not expclip.training
    assert isinstance(generator, Generator) and generator.config == GENERATOR and not generator.training
    assert isinstance(load_model(saved["expclip"]), ExpCLIP)
    assert isinstance(load_generator(saved["generator"]), Generator)


def test_old_checkpoints_without_a_kind_are_told_apart_by_their_model_keys(saved) -> None:
    for kind, directory in saved.items():
        _drop_kind(directory)
        assert checkpoint_kind(directory) == kind
    assert isinstance(load_checkpoint(saved["expclip"]), ExpCLIP)
    assert isinstance(load_checkpoint(saved["generator"]), Generator)


@pytest.mark.parametrize("old", [False, True])
def test_a_checkpoint_of_the_other_kind_is_refused_with_one_sentence(saved, old: bool) -> None:
    if old:
        for directory in saved.values():
            _drop_kind(directory)
    with pytest.raises(CheckpointError, match=r"holds a speech generator, not an ExpCLIP model; give a checkpoint "
                                              r"such as checkpoints/expclip-small here") as error:
        load_model(saved["generator"])
    assert str(error.value).count(". ") == 0 and str(error.value).endswith(".")
    with pytest.raises(CheckpointError, match=r"holds an ExpCLIP model, not a speech generator; give a checkpoint "
                                              r"such as checkpoints/generator-small here"):
        load_generator(saved["expclip"])
    with pytest.raises(CheckpointError, match="not a speech generator"):
        load_checkpoint(saved["expclip"], kind="generator")


def test_an_unknown_kind_is_named(saved) -> None:
    config = json.loads((saved["expclip"] / "config.json").read_text())
    (saved["expclip"] / "config.json").write_text(json.dumps({**config, "kind": "vocoder"}))
    with pytest.raises(CheckpointError, match="unknown kind 'vocoder'"):
        load_checkpoint(saved["expclip"])


def test_the_released_checkpoints_say_their_kind() -> None:
    assert checkpoint_kind(default_checkpoint(EXPCLIP_SMALL)) == "expclip"
    assert checkpoint_kind(default_checkpoint(GENERATOR_SMALL)) == "generator"


def test_default_checkpoint_searches_the_environment_first_and_names_where_it_looked(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("EXPCLIP_CHECKPOINT", raising=False)
    mine = tmp_path / "mine" / GENERATOR_SMALL
    mine.mkdir(parents=True)
    (mine / "config.json").write_text("{}")
    monkeypatch.setenv("EXPCLIP_CHECKPOINTS", str(tmp_path / "mine"))
    assert default_checkpoint(GENERATOR_SMALL) == mine
    assert default_checkpoint(EXPCLIP_SMALL).name == EXPCLIP_SMALL  # not in mine/: the released one
    with pytest.raises(FileNotFoundError, match=r"No checkpoint 'nothing-such' was found \(looked in .*mine"):
        default_checkpoint("nothing-such")
