"""What a run's numbers rest on: feature origin, protocol, and the caveat every table shows."""
from avgzsl.data.synthetic import make_synthetic_root
from avgzsl.experiments.provenance import caveat, protocol, root_origin, table_origin
from avgzsl.experiments.spec import RunSpec


def test_the_paper_protocol_shortened_and_modified_runs_are_told_apart():
    assert protocol(RunSpec("ucf").settings()) == ("paper", "")
    assert protocol(RunSpec("ucf", epochs=3, batches_per_epoch=60).settings()) == (
        "shortened", "epochs 3 (paper: 20), batches per epoch 60 (paper: 300)")
    assert protocol(RunSpec("ucf", batch_size=32).settings())[0] == "shortened"
    assert protocol(RunSpec("vggsound", lr=3e-4, logging_pass=False).settings()) == (
        "modified", "lr 0.0003 (paper: 0.0001), logging pass False (paper: True)")


def test_only_real_features_with_the_paper_protocol_carry_no_caveat(tmp_path):
    paper = RunSpec("ucf").settings()
    assert caveat("published", paper) == "" and caveat("extracted-pretrained", paper) == ""
    assert caveat("synthetic", paper) == "synthetic features"
    assert caveat("extracted-random", RunSpec("ucf", epochs=2).settings()) == (
        "extracted-random features; shortened: epochs 2 (paper: 20)")
    assert root_origin(make_synthetic_root(tmp_path / "syn", shape="tiny")) == "synthetic"
    assert root_origin(tmp_path) == "published"
    assert table_origin({"visual.weights": "pretrained", "audio.weights": "random"}) == "extracted-random"
