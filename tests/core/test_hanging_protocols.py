"""Hanging protocol rules: what each condition matches, the first match winning, the default rules, the JSON form."""

from __future__ import annotations

import pytest

from medstation.core.hanging_protocols import (
    DEFAULT_PROTOCOLS,
    VIEW_LAYOUTS,
    Protocol,
    match_protocol,
    preset_number,
    protocol_from_record,
    protocol_record,
)
from medstation.core.volume import VolumeInfo
from medstation.core.window_level import CT_PRESETS


def info(modality="CT", body_part="", description="") -> VolumeInfo:
    details = {"BodyPartExamined": body_part} if body_part else {}
    return VolumeInfo(modality=modality, series_description=description, details=details)


def test_each_condition_matches_only_what_it_names():
    rule = Protocol("rule", modalities=("CT",))
    assert rule.matches(info("CT"), 1) and rule.matches(info("ct"), 1) and not rule.matches(info("MR"), 1)
    rule = Protocol("rule", body_parts=("HEAD", "BRAIN"))
    assert rule.matches(info(body_part="head"), 1) and rule.matches(info(body_part="BRAIN"), 1)
    assert not rule.matches(info(body_part="CHEST"), 1) and not rule.matches(info(), 1)
    rule = Protocol("rule", description="flair")
    assert rule.matches(info(description="AX T2 FLAIR fs"), 1) and not rule.matches(info(description="T1"), 1)
    rule = Protocol("rule", description_regex=r"^t1.*(post|\+c)")
    assert rule.matches(info(description="T1 SE post"), 1) and rule.matches(info(description="t1 +C"), 1)
    assert not rule.matches(info(description="AX T1 post"), 1)
    rule = Protocol("rule", min_images=2, max_images=10)
    assert [rule.matches(info(), n) for n in (1, 2, 10, 11)] == [False, True, True, False]


def test_a_rule_matches_only_when_every_condition_it_sets_holds():
    rule = Protocol("CT head", modalities=("CT",), body_parts=("HEAD",), min_images=2)
    assert rule.matches(info("CT", "HEAD"), 30)
    assert not rule.matches(info("MR", "HEAD"), 30)
    assert not rule.matches(info("CT", "CHEST"), 30)
    assert not rule.matches(info("CT", "HEAD"), 1)
    assert Protocol("anything").matches(info("US"), 0)


def test_the_first_matching_rule_wins():
    first = Protocol("first", modalities=("CT",), layout="single")
    second = Protocol("second", modalities=("CT",), body_parts=("HEAD",), layout="2x2")
    assert match_protocol(info("CT", "HEAD"), 20, [first, second]) is first
    assert match_protocol(info("CT", "HEAD"), 20, [second, first]) is second
    assert match_protocol(info("MR"), 20, [first, second]) is None
    assert match_protocol(info("MR"), 20, []) is None


def test_the_default_rules_hang_ct_heads_chest_radiographs_and_mr_brains():
    ct_head = match_protocol(info("CT", "HEAD"), 28)
    assert (ct_head.name, ct_head.layout, ct_head.window) == ("CT head", "1x3", "Brain")
    assert match_protocol(info("CT", description="HEAD W/O CONTRAST"), 28).name == "CT head"
    assert match_protocol(info("CT", "CHEST"), 200).window == "Lung"
    chest = match_protocol(info("DX", "CHEST"), 1)
    assert (chest.name, chest.layout, chest.compare_with_prior) == ("CR/DX chest", "single", True)
    assert match_protocol(info("CR", description="Chest PA"), 1).name == "CR/DX chest"
    mr = match_protocol(info("MR", "BRAIN"), 176)
    assert (mr.name, mr.layout, mr.window) == ("MR brain", "2x2", None)
    assert match_protocol(info("MR", "KNEE"), 30) is None
    assert match_protocol(info("CT", "HEAD"), 1) is None, "a single CT image is not laid out as a volume"
    assert {protocol.layout for protocol in DEFAULT_PROTOCOLS} <= set(VIEW_LAYOUTS)


def test_windows_are_found_by_name():
    assert preset_number(CT_PRESETS, "Brain") == 1
    assert preset_number(CT_PRESETS, "soft TISSUE") == 5
    assert preset_number(CT_PRESETS, "Mediastinum") is None


def test_rules_round_trip_through_their_json_form():
    for protocol in DEFAULT_PROTOCOLS:
        record = protocol_record(protocol)
        assert set(record) == {"name", "match", "layout", "window", "compare_with_prior"}
        assert protocol_from_record(record, 1) == protocol
    assert protocol_from_record({"name": "CT", "match": {"modality": "CT"}}, 1).modalities == ("CT",)


@pytest.mark.parametrize(("record", "problem"), [
    ([], "rule 3 is a JSON list, not an object"),
    ({"match": {}}, "rule 3 has no name"),
    ({"name": "x", "match": {"modality": 3}}, "rule 3 (x): match.modality must be a text or a list of texts"),
    ({"name": "x", "match": {"min_images": "2"}}, "match.min_images must be a whole number"),
    ({"name": "x", "match": {"max_images": True}}, "match.max_images must be a whole number"),
    ({"name": "x", "match": {"min_images": -1}}, "rule 3 (x): an image count must be a whole number >= 0"),
    ({"name": "x", "match": {"description_regex": "(unclosed"}}, "is not a regular expression"),
    ({"name": "x", "match": {"bodypart": "HEAD"}}, "unknown key(s) match.bodypart"),
    ({"name": "x", "layout": "3x3"}, "rule 3 (x): layout '3x3' is not one of single, 1x3, 2x2"),
    ({"name": "x", "compare_with_prior": "yes"}, "compare_with_prior must be true or false"),
    ({"name": "x", "match": []}, '"match" must be an object'),
])
def test_a_rule_that_makes_no_sense_is_refused_saying_why(record, problem):
    with pytest.raises(ValueError) as raised:
        protocol_from_record(record, 3)
    assert problem in str(raised.value)
