"""What a retrieve asks for when part of the study is here already."""

from __future__ import annotations

from medstation.io.pacs.present import RetrievePart, plan


def test_whole_series_where_none_is_here_missing_instances_where_some_are_nothing_where_all_are():
    counts = {"s1": 3, "s2": 2, "s3": 2}
    listed = {"s1": {"a", "b", "c"}, "s3": {"f", "g"}}
    here = {"s1": {"a", "x"}, "s3": {"f", "g"}}
    result = plan(counts, listed, here)
    assert result.parts == [RetrievePart("s1", ("b", "c"), 2), RetrievePart("s2", (), 2)]
    assert result.already_present == 3


def test_a_listing_shorter_than_the_series_count_asks_for_the_whole_series():
    result = plan({"s1": 5}, {"s1": {"a", "b"}}, {"s1": {"a"}})
    assert result.parts == [RetrievePart("s1", (), 5)] and result.already_present == 0


def test_nothing_to_ask_for_when_the_node_holds_only_what_is_here():
    result = plan({"s1": 2}, {"s1": {"a", "b"}}, {"s1": {"a", "b", "c"}})
    assert result.parts == [] and result.already_present == 2
