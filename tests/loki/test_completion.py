"""Completion in `%%logql` cells: label names inside a selector, a label's values after `name="`."""

from __future__ import annotations

from logfire_notebook._magic.complete_logql import suggest_logql

LABELS = {"service_name": ["checkout", "cart"], "level": ["info", "error"], "env": ["prod"]}


def test_label_names_after_brace_and_comma() -> None:
    assert suggest_logql(LABELS, "{") == (
        "",
        [("env", "label"), ("level", "label"), ("service_name", "label")],
    )
    assert suggest_logql(LABELS, '{env="prod", se') == ("se", [("service_name", "label")])


def test_values_after_name_equals_quote() -> None:
    assert suggest_logql(LABELS, '{service_name="c') == ("c", [("cart", "value"), ("checkout", "value")])
    assert suggest_logql(LABELS, '{level=~"e') == ("e", [("error", "value")])


def test_nothing_outside_a_selector_or_inside_a_filter_string() -> None:
    assert suggest_logql(LABELS, '{env="prod"} |= "se') == ("", [])
    assert suggest_logql(LABELS, "sum by (le") == ("", [])
