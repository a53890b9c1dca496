"""SheafAlign against the single shared space on planted data; the experiment command."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sheaftopo.cli import main  # noqa: E402
from sheaftopo.torch.sheafalign import (  # noqa: E402
    SheafAlign,
    SingleSpaceBaseline,
    evaluate,
    make_pid_views,
    split_views,
    train,
)


def compare_on(data, *, epochs):
    s = split_views(data, seed=0)
    settings = {"embed_dim": 32, "hidden": 64, "node_names": s.names, "seed": 0}
    out = []
    for model in (
        SheafAlign(s.input_dims, "complete", **settings),
        SingleSpaceBaseline(s.input_dims, anchor=0, **settings),
    ):
        train(model, s.train, epochs=epochs, batch_size=128, lr=2e-3, threads=1)
        out.append(
            evaluate(
                model,
                s.test,
                s.y_test,
                train_views=s.train,
                train_labels=s.y_train,
                shots=(),
                drop_rates=(),
                n_repeats=1,
            )
        )
    return out


def test_pairwise_only_redundancy_sheafalign_beats_the_single_space_by_20_points():
    # no fully shared component: views 1 and 2 share only r_12, which the anchor (view 0)
    # never sees, so the shared space can align 1 and 2 only through the labels
    data = make_pid_views(800, 3, shared_dim=0, pairwise_dim=4, unique_dim=4, seed=0)
    sheaf, base = compare_on(data, epochs=25)
    assert sheaf.recall_instance[1] >= base.recall_instance[1] + 0.20
    assert sheaf.recall_instance[5] >= base.recall_instance[5] + 0.20
    # the non-anchor pair: near chance (1/200 per item, 1/20 within a class) vs aligned
    assert base.pair_recall[1, 2, 0] <= 0.10 and base.pair_recall[2, 1, 0] <= 0.10
    assert sheaf.pair_recall[1, 2, 0] >= 0.40 and sheaf.pair_recall[2, 1, 0] >= 0.40
    # the anchor pairs are learnt by both
    assert base.pair_recall[0, 1, 0] >= 0.30 and sheaf.pair_recall[0, 1, 0] >= 0.30
    # SheafAlign's neighbour estimates beat the shared space's and the mean fill
    assert sheaf.missing_nmse["model"] < min(base.missing_nmse["model"], 0.8)
    assert sheaf.message_numbers == 16 and base.message_numbers == 32


def test_fully_shared_information_leaves_no_gap():
    data = make_pid_views(400, 3, shared_dim=8, pairwise_dim=0, unique_dim=4, seed=1)
    sheaf, base = compare_on(data, epochs=15)
    assert sheaf.recall_instance[1] >= 0.85 and base.recall_instance[1] >= 0.85
    assert abs(sheaf.recall_instance[1] - base.recall_instance[1]) <= 0.08


def test_experiment_command_writes_tables_and_plots(tmp_path):
    out = tmp_path / "res"
    argv = "experiment --dataset digits --epochs 1 --fractions 0.25 0.5 --embed-dim 16".split()
    argv += ["--hidden", "16", "--out", str(out), "--quiet"]
    assert main(["sheafalign", *argv]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "communication_vs_error.png",
        "recall_vs_edge_dim.png",
        "results.json",
        "results.md",
        "robustness.png",
    ]
    res = json.loads((out / "results.json").read_text())
    assert [r["model"] for r in res["rows"]] == [
        "SheafAlign d_e=4",
        "SheafAlign d_e=8",
        "single space",
    ]
    assert res["settings"]["nodes"] == ["left", "middle", "right"]
    assert res["settings"]["anchor"] == "middle"
    assert res["settings"]["command"].endswith(" ".join(argv))
    for row in res["rows"]:
        assert 0 <= row["R@1"] <= row["R@10"] <= 1
    # 1347 training rows, 5 batches; 3 edges x 2 directions x d_e = 8 float32 numbers per row
    assert res["training"]["SheafAlign d_e=8"]["bytes_per_epoch"] == [1347 * 3 * 2 * 8 * 4]
    md = (out / "results.md").read_text()
    assert "| SheafAlign d_e=8 | 8 |" in md and "sheaftopo sheafalign experiment" in md


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method")
def test_experiment_command_trains_distributed_on_a_star(tmp_path, capsys):
    argv = (
        "experiment --dataset synthetic --n-samples 240 --graph star --epochs 2 --fractions 0.5 "
        "--embed-dim 8 --hidden 8 --distributed --start-method fork --quiet"
    ).split()
    argv += ["--out", str(tmp_path)]
    assert main(["sheafalign", *argv]) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["settings"]["edges"] == [["v0", "v1"], ["v0", "v2"]]
    assert res["settings"]["mode"].startswith("distributed (3 processes")
    tr = res["training"]["SheafAlign d_e=4"]
    assert tr["mode"] == "distributed"
    # the hub sends on two edges, the leaves on one: 180 rows x 4 float32 per edge
    assert tr["bytes_per_node_per_epoch"][0] == [2 * 180 * 16, 180 * 16, 180 * 16]
    # a bad value is one line on stderr and exit status 2, not a traceback
    two = [a if a != "--distributed" else "--distributed=2" for a in argv]
    assert main(["sheafalign", *two]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sheaftopo sheafalign: error:")
    assert "need 3 processes, not 2" in err and "\n" not in err
    assert np.isfinite(res["rows"][0]["R@1"])
