"""One-sided faces survive the model: a tiny ExpCLIP trained here keeps a wink one eye through E/D and the text path."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from expclip.asymmetry import is_one_sided, kept_asymmetry
from expclip.face_actions import load_face_actions
from expclip.losses import LossWeights, expclip_loss
from expclip.model import ExpCLIP, ExpCLIPConfig
from head.arkit import INDEX
from train.augment import BlendshapeAugment
from train.expclip.data import FeaturePairs, TextTable

ONE_SIDED = ("wink_left", "wink_right", "smirk_left", "smirk_right", "one_brow_raised_left", "one_brow_raised_right",
             "look_side_left", "look_side_right", "sneer_one_side_left", "jaw_side_right")
SYMMETRIC = ("smile", "brows_raised", "brows_lowered", "mouth_agape", "eyes_closed", "pucker", "look_up", "cheek_puff")
TEXT_DIM = 16


def _data(rng: np.random.Generator, per_action: int = 24):
    """Faces of the actions at random strengths, each paired with its action's one text (a fixed random feature)."""
    kb = load_face_actions()
    names = ONE_SIDED + SYMMETRIC
    features = rng.normal(size=(len(names), TEXT_DIM)).astype(np.float32)
    faces, rows = [], []
    for row, name in enumerate(names):
        for _ in range(per_action):
            faces.append(np.clip(kb[name].face * rng.uniform(0.6, 1.1), 0, 1))
            rows.append(row)
    table = TextTable(list(names), np.array(rows)[:, None], np.ones(len(rows), dtype=np.int64),
                      np.zeros((len(rows), 1), dtype=bool))
    return kb, names, features, table, np.stack(faces).astype(np.float32)


def test_one_sided_faces_survive_the_auto_encoder_and_the_text_path() -> None:
    torch.manual_seed(0)
    kb, names, features, table, faces = _data(np.random.default_rng(0))
    config = ExpCLIPConfig(text_dim=TEXT_DIM, embed_dim=32, width=32, heads=2, encoder_layers=1, decoder_layers=1,
                           ff_mult=2, dropout=0.0, projector_hidden=64)
    model = ExpCLIP(config)
    pairs = FeaturePairs(features, table, faces, BlendshapeAugment(), seed=0)  # mirroring on, as in training
    loader = DataLoader(pairs, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3)
    for epoch in range(20):
        pairs.set_epoch(epoch)
        for text, weights in loader:
            loss = expclip_loss(model(weights, text), weights, LossWeights(1.0, 10.0, 10.0, 0.0))["total"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    targets = np.stack([kb[n].face for n in names])
    with torch.no_grad():
        through_ed = model.decode(model.embed_expression(torch.from_numpy(targets))).numpy()
        through_text = model.decode(model.embed_text(torch.from_numpy(features))).numpy()
    one_sided = slice(0, len(ONE_SIDED))
    assert is_one_sided(targets[one_sided]).all() and not is_one_sided(targets[len(ONE_SIDED):]).any()
    kept_ed = kept_asymmetry(through_ed[one_sided], targets[one_sided])
    kept_text = kept_asymmetry(through_text[one_sided], targets[one_sided])
    assert kept_ed.min() > 0.6 and kept_text.min() > 0.6, (kept_ed.round(2), kept_text.round(2))
    wink = through_text[names.index("wink_left")]
    assert wink[INDEX["eyeBlinkLeft"]] - wink[INDEX["eyeBlinkRight"]] > 0.5
    assert is_one_sided(through_text[one_sided]).all()
    assert not is_one_sided(through_text[len(ONE_SIDED):]).any()
