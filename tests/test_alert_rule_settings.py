"""An ``[[alerts]]`` rule is a frozen, typed object declared once (issue 15 item 2): defaults
converted as written values are, read as attributes, its table derived from the declaration,
and its problems reported with every other problem of the file in one run."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from config_support import assert_problems

import alerts
from alerts import stats
from alerts.rules import RULE_SETTINGS, AlertRule
from sentimon.config import load_config
from sentimon.settings import SettingError, settings_of


def test_a_rule_without_optional_keys_carries_converted_defaults():
    rule = alerts.validate_rule(0, {"name": "plain"})
    assert isinstance(rule, AlertRule)
    assert rule.cooldown == timedelta(hours=4) and rule.window == timedelta(hours=1)
    assert rule.baseline == "7d" and rule.baseline_period == timedelta(days=7)
    assert rule.threshold is None and rule.alpha == stats.SENSITIVITY_ALPHA["medium"]
    assert (rule.min_mentions, rule.min_ratio, rule.sustained) == (20, 1.25, 6)
    assert type(rule.min_ratio) is float and type(rule.worse_factor) is float
    assert rule.notify == [] and rule.topics == [] and rule.enabled is True
    assert rule.brand == "" and rule.brand_terms == ()


def test_a_rule_built_directly_holds_converted_defaults_too():
    """What a test or a caller without a config builds has no "4h" strings in it either."""
    rule = AlertRule(name="direct")
    assert rule.cooldown == timedelta(hours=4) and rule.window == timedelta(hours=1)


def test_written_values_are_converted():
    rule = alerts.validate_rule(0, {"name": "r", "window": "2h", "baseline": "same_hour_of_week",
                                    "threshold": 1, "metric": "volume", "cooldown": "30m"})
    assert rule.window == timedelta(hours=2) and rule.cooldown == timedelta(minutes=30)
    assert rule.baseline_period is None
    assert rule.threshold == 1.0 and type(rule.threshold) is float and rule.alpha is None
    assert alerts.validate_rule(0, {"name": "r", "threshold": -1.0}).threshold is None


def test_rules_are_frozen_and_list_defaults_never_shared():
    first, second = alerts.validate_rule(0, {"name": "a"}), alerts.validate_rule(1, {"name": "b"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.cooldown = timedelta(0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        first["brand"] = "Rival"  # type: ignore[index]
    first.notify.append("mutated")
    assert second.notify == [] and AlertRule(name="c").notify == []
    assert dataclasses.replace(first, notify=[]).notify == [] and first.notify == ["mutated"]


def test_the_table_is_derived_from_the_typed_declaration():
    """Docs and checks come from the same declaration as the attributes; the derived fields
    (set when the rule is built) are no keys a file may write."""
    assert RULE_SETTINGS == settings_of(AlertRule)
    names = [s.name for s in RULE_SETTINGS]
    assert names[:3] == ["name", "metric", "window"] and names[-1] == "enabled" and len(names) == 23
    assert not {"alpha", "baseline_period", "brand_terms"} & set(names)
    with pytest.raises(SettingError, match="unknown key"):
        alerts.validate_rule(0, {"name": "r", "alpha": 0.1})


def test_config_rules_are_typed_with_their_brand_set(write_config):
    config = load_config(write_config(
        '[brand]\nname = "Acme"\n'
        '[[connectors]]\nname = "rival"\ntype = "files"\npath = "x.jsonl"\nbrand = "Rival"\n'
        '[[alerts]]\nname = "ours"\nbrand = "Acme"\n'
        '[[alerts]]\nname = "theirs"\nbrand = "Rival"\n'
    ))
    ours, theirs = config.alerts
    assert isinstance(ours, AlertRule) and isinstance(theirs, AlertRule)
    assert ours.brand == "" and "Acme" in ours.brand_terms  # our brand is stored as ''
    assert theirs.brand == "Rival" and isinstance(theirs.brand_terms, tuple)
    assert ours.cooldown == timedelta(hours=4)


def test_bad_rule_values_come_with_a_connector_problem_in_one_run(write_config):
    path = write_config(
        '[[alerts]]\nname = "r"\nsensitivity = "extreme"\nmin_rating = 7\n'
        '[[connectors]]\nname = "a"\ntype = "files"\npath = "x"\nevery = "5x"\n'
    )
    assert_problems(path, ["alerts[0].sensitivity", "alerts[0].min_rating", "connectors[0].every"])
