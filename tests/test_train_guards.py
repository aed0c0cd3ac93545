"""Training refuses non-finite labels (naming file, row and column) and stops when the loss stops being finite."""

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hardneg.data.errors import DataError
from hardneg.train.data import read_groups
from hardneg.types import Groups
from hardneg.train.trainer import TrainConfig, guard_loss, train_bi_encoder


def _margin_file(path, labels):
    pq.write_table(pa.table({"query": ["a query", "b query"], "positive": ["pos a", "pos b"],
                             "negative": ["neg a", "neg b"], "label": pa.array(labels, pa.float64())}), path)
    return path


@pytest.mark.parametrize("bad", [math.nan, math.inf, None])
def test_non_finite_margin_names_file_and_row(tmp_path, bad):
    path = _margin_file(tmp_path / "m.parquet", [0.3, bad])
    with pytest.raises(DataError, match=r"m\.parquet, row 2, field 'label'"):
        read_groups(path)


def test_non_finite_pair_label_is_refused(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"query": ["q", "q"], "doc": ["d1", "d2"], "label": [1.0, math.nan]}), path)
    with pytest.raises(DataError, match="row 2, field 'label'.*non-finite"):
        read_groups(path)


def test_guard_loss_raises_on_a_non_finite_value():
    import torch

    class Loss(torch.nn.Module):
        def forward(self, x):
            return x.sum()

    loss = guard_loss(Loss())
    assert loss(torch.ones(2)).item() == 2.0
    with pytest.raises(DataError, match="loss became inf at batch 2"):
        loss(torch.tensor([math.inf]))


def test_training_stops_when_the_loss_overflows(tiny_bert, tmp_path):
    g = Groups()
    for i in range(4):  # finite margins that overflow float32 once squared
        g.add(f"query {i}", f"positive {i}", [f"negative {i}"], 0.0, [-3e38])
    cfg = TrainConfig(model=str(tiny_bert), loss="margin-mse", epochs=1, batch_size=4, max_seq_length=16,
                      warmup_ratio=0.0)
    with pytest.raises(DataError, match="training loss became"):
        train_bi_encoder(g, cfg, tmp_path / "model")
    assert not (tmp_path / "model" / "model.safetensors").exists()
