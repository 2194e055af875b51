"""ExpCLIP model shapes, each loss, and checkpoints rebuilt from their config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from expclip.checkpoint import CheckpointError, load_model, save_checkpoint
from expclip.losses import (
    LossWeights,
    alignment_loss,
    contrastive_loss,
    cross_modal_loss,
    expclip_loss,
    reconstruction_loss,
)
from expclip.model import ExpCLIP, ExpCLIPConfig

TINY = ExpCLIPConfig(text_dim=16, embed_dim=8, width=16, heads=2, encoder_layers=1, decoder_layers=1, ff_mult=2,
                     projector_hidden=32, dropout=0.0)


def test_shapes_ranges_and_unit_embeddings() -> None:
    torch.manual_seed(0)
    model = ExpCLIP(TINY)
    weights, text = torch.rand(5, 52), torch.randn(5, 16)
    out = model(weights, text)
    assert out["z_expression"].shape == out["z_text"].shape == (5, 8)
    torch.testing.assert_close(out["z_text"].norm(dim=1), torch.ones(5))
    torch.testing.assert_close(model.embed_expression(weights).norm(dim=1), torch.ones(5))
    assert out["reconstruction"].shape == out["cross"].shape == (5, 52)
    assert 0 <= out["cross"].min() and out["cross"].max() <= 1


def test_each_loss_on_known_values() -> None:
    b = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    assert reconstruction_loss(b + 0.1, b).item() == pytest.approx(0.01)
    assert cross_modal_loss(torch.zeros_like(b), b).item() == pytest.approx((0 + 1 + 0.25 + 0.25) / 4)
    x = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=1)
    assert alignment_loss(x, x).item() == pytest.approx(0.0, abs=1e-6)
    assert alignment_loss(x, -x).item() == pytest.approx(2.0)
    assert alignment_loss(x, x.flip(1)).item() == pytest.approx(1.0)
    assert contrastive_loss(x, x, temperature=0.01).item() < 1e-3
    assert contrastive_loss(x, x.flip(0), temperature=0.01).item() > 10


def test_total_loss_weights_the_terms() -> None:
    torch.manual_seed(0)
    model = ExpCLIP(TINY)
    weights, text = torch.rand(4, 52), torch.randn(4, 16)
    terms = expclip_loss(model(weights, text), weights, LossWeights(1, 10, 10))
    assert set(terms) == {"ae", "emb", "cross", "total"}
    assert terms["total"].item() == pytest.approx((terms["ae"] + 10 * terms["emb"] + 10 * terms["cross"]).item(), rel=1e-5)
    with_contrastive = expclip_loss(model(weights, text), weights, LossWeights(1, 10, 10, 0.5))
    assert "contrastive" in with_contrastive


def test_checkpoint_round_trip_rebuilds_from_config(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = ExpCLIP(TINY).eval()
    save_checkpoint(tmp_path, model, {"test_ae_mse": 0.5}, {"epochs": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "metrics.json", "model.safetensors"]
    back = load_model(tmp_path)
    assert back.config == TINY and not back.training
    weights = torch.rand(3, 52)
    torch.testing.assert_close(back.decode(back.embed_expression(weights)), model.decode(model.embed_expression(weights)))
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"test_ae_mse": 0.5}


def test_residual_text_projector_is_wider_than_the_image_projector_and_round_trips(tmp_path: Path) -> None:
    import dataclasses

    config = dataclasses.replace(TINY, text_projector_hidden=24, text_projector_blocks=2, image_encoder="landmarks",
                                 image_dim=12)
    torch.manual_seed(2)
    model = ExpCLIP(config).eval()
    assert len(model.text_projector.blocks) == 2 and model.text_projector.input.out_features == 24
    assert model.image_projector.blocks is None and model.image_projector.net[0].out_features == 32
    text = torch.randn(3, 16)
    z = model.embed_text(text)
    assert z.shape == (3, 8)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(3))
    save_checkpoint(tmp_path, model, {})
    back = load_model(tmp_path)
    assert back.config == config
    torch.testing.assert_close(back.embed_text(text), z)
    plain = ExpCLIP(TINY)  # blocks 0: the 3-layer MLP of the first releases, same parameter names
    assert {n for n, _ in plain.text_projector.named_parameters()} == {
        "net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias", "net.5.weight", "net.5.bias"}


def test_mismatched_or_missing_checkpoints_are_named(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, ExpCLIP(TINY), {})
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["width"] = 32
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="config.json does not match model.safetensors .*shape differs"):
        load_model(tmp_path)
    config["model"]["sparkle"] = 1
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unknown model keys sparkle"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_model(tmp_path / "nowhere")
