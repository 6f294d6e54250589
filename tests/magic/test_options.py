"""The magic line: `VAR <<`, the options, and where the SQL of `%logfire` starts."""

from __future__ import annotations

from logfire_notebook._magic.options import VALUE_OPTIONS, split_line
from logfire_notebook.magic import LogfireMagic


def test_assignment_and_options_of_a_cell_line() -> None:
    line = split_line("orders << --since 1h --limit 5 --no-widget")
    assert (line.assign, line.options, line.sql) == ("orders", "--since 1h --limit 5 --no-widget", "")


def test_line_form_sql_starts_after_the_options() -> None:
    line = split_line("--since=now-2h --env prod SELECT count(*) FROM records WHERE message = '--x 1'")
    assert line.assign is None
    assert line.options == "--since=now-2h --env prod"
    assert line.sql == "SELECT count(*) FROM records WHERE message = '--x 1'"


def test_quoted_option_value_with_spaces() -> None:
    line = split_line('x<< --since "2026-01-01 10:00" SELECT 1')
    assert (line.assign, line.options, line.sql) == ("x", '--since "2026-01-01 10:00"', "SELECT 1")


def test_value_options_match_the_parser() -> None:
    parser = LogfireMagic.logfire.parser
    takes_value = {
        opt
        for action in parser._actions
        for opt in action.option_strings
        if action.nargs != 0 and opt != "-h"
    }
    assert takes_value == set(VALUE_OPTIONS)
