"""Pre-training vocabularies the user supplies (CLIP's, their own Kinetics-400 list) for the overlap check."""
import pytest

from zsar_bench import overlap
from zsar_bench.running.planning import PlanError, plan_runs
from zsar_bench.splits import SplitError, load_protocol


def names_file(tmp_path, text, name="clip.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_names_file_forms(tmp_path):
    ids, names, sha = overlap.read_names(names_file(tmp_path, "# CLIP\nGolf\n\nk1\tplaying guitar  # a comment\n"))
    assert names == ["Golf", "playing guitar"] and ids == ["golf", "k1"] and len(sha) == 64
    with pytest.raises(SplitError, match="lists no names"):
        overlap.read_names(names_file(tmp_path, "# nothing\n", "empty.txt"))
    with pytest.raises(SplitError, match="cannot be read"):
        overlap.read_names(tmp_path / "missing.txt")


def test_a_source_without_a_builtin_list_needs_names(tmp_path):
    with pytest.raises(SplitError, match="no built-in class list .* --names FILE"):
        overlap.pretrain_classes("clip")
    with pytest.raises(SplitError):
        overlap.pretrain_classes("../etc", names_file(tmp_path, "golf\n"))  # the name lands in file names


def test_supplied_names_find_and_exclude_overlap(tmp_path):
    f = names_file(tmp_path, "golf\nride a bike\nsomething unrelated\n")
    doc = overlap.overlap_document("clip", "hmdb51", names=f)
    found = {e["identifier"]: e["matches"][0]["criterion"] for e in doc["overlap"]}
    assert found.get("golf") == "exact name" and found.get("ride_bike") == "near-identical name"
    assert doc["names_sha256"] and doc["n_pretrain"] == 3 and "clip.txt" in doc["pretrain_description"]
    base = load_protocol("hmdb51", "random-50-50")
    a = overlap.exclude_overlap(base, "clip", f)
    assert a.protocol == "random-50-50-no-clip"
    assert all("golf" not in fold.seen + fold.val + fold.unseen for fold in a.folds)
    g = names_file(tmp_path, "golf\n", "other.txt")  # another list: another hash, never mixed in records
    b = overlap.exclude_overlap(base, "clip", g)
    assert b.protocol == a.protocol and b.sha256 != a.sha256 != base.sha256
    own_k400 = names_file(tmp_path, "golf\n", "k400.txt")  # a Kinetics-400 list of one's own replaces the built-in
    assert overlap.overlapping_identifiers("k400", "hmdb51", own_k400) == ["golf"]


def test_planning_takes_supplied_names(tmp_path):
    f = names_file(tmp_path, "golf\n")
    specs = plan_runs("chance", "hmdb51", folds="0", exclude_overlap="clip", pretrain_names=str(f))
    assert specs[0].protocol.protocol == "random-50-50-no-clip"
    with pytest.raises(PlanError, match="pass both"):
        plan_runs("chance", "hmdb51", folds="0", pretrain_names=str(f))
