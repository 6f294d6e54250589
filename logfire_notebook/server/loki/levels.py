"""`detected_level` on pushed entries, as Loki 3 adds it by default (`discover_log_levels`): structured
metadata naming the entry's level, so Grafana's logs volume and `| detected_level="error"` work on any data.

Where the level comes from, first found wins: a `detected_level` the entry already carries (normalized); a
level-like stream label (`level`, `severity`, `lvl`, ...); the same in the entry's structured metadata; a
level field in a JSON line (at any depth) or a logfmt line; else a level word standing on
its own in the line (`trace`, `debug`, `fatal`, `critical`, `error`/`err`, `warning`/`warn`, `info`, in that
order, any case). Known spellings become `trace`, `debug`, `info`, `warn`, `error`, `critical`, `fatal`; a
line with none gets `unknown`. OTLP logs get theirs from the severity instead (`otlp.py`).
"""

from __future__ import annotations

import re

from logfire_notebook.server.loki.storage import PushStream

__all__ = ["DETECTED_LEVEL", "LEVEL_FIELDS", "add_detected_levels", "level_of_line", "normalize_level"]

DETECTED_LEVEL = "detected_level"
LEVEL_FIELDS = (
    "level",
    "LEVEL",
    "Level",
    "Severity",
    "severity",
    "SEVERITY",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
)
"""Loki's default `log_level_fields`, in its order of preference."""
UNKNOWN = "unknown"

_SPELLINGS = {
    "trace": "trace",
    "trc": "trace",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "inf": "info",
    "information": "info",
    "warn": "warn",
    "wrn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "critical": "critical",
    "fatal": "fatal",
}
_KEYWORD_ORDER = ("trace", "debug", "fatal", "critical", "error", "err", "warning", "warn", "info")
_KEYWORD = re.compile(r"(?<![a-z0-9_])(" + "|".join(_KEYWORD_ORDER) + r")(?![a-z0-9_])")
_ANY_KEYWORD = re.compile("trace|debug|fatal|critical|err|warn|info")
_FIELD_NAMES = "|".join(re.escape(f) for f in LEVEL_FIELDS)
_JSON_FIELD = re.compile(r'"(' + _FIELD_NAMES + r')"\s*:\s*"([^"\\]*)"')
_LOGFMT_FIELD = re.compile(r"\b(" + _FIELD_NAMES + r')=("(?:[^"\\]|\\.)*"|[^\s"]*)')


def normalize_level(value: str) -> str:
    """Loki's spelling of a level name; any other value is kept as it is."""
    return _SPELLINGS.get(value.lower(), value)


def _keyword_level(line: str) -> str:
    lowered = line.lower()
    if _ANY_KEYWORD.search(lowered) is None:  # most lines: one quick scan
        return UNKNOWN
    found = {m.group(1) for m in _KEYWORD.finditer(lowered)}
    for word in _KEYWORD_ORDER:
        if word in found:
            return _SPELLINGS[word]
    return UNKNOWN


def _json_field(line: str) -> str | None:
    # A search, not a parse: a push runs this on every line, and a level field is a plain string value.
    m = _JSON_FIELD.search(line)
    return m.group(2) if m else None


def _logfmt_field(line: str) -> str | None:
    m = _LOGFMT_FIELD.search(line)
    if m is None:
        return None
    raw = m.group(2)
    return raw[1:-1] if raw.startswith('"') and raw.endswith('"') and len(raw) > 1 else raw


def level_of_line(line: str) -> str:
    """The level a line says it has: its JSON or logfmt level field, else a level word in it."""
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        value = _json_field(stripped)
    elif "=" in line:
        value = _logfmt_field(line)
    else:
        return _keyword_level(line)
    if value is not None and value.lower() in _SPELLINGS:
        return _SPELLINGS[value.lower()]
    return _keyword_level(line)


def _first_field(labels: dict[str, str]) -> str | None:
    for name in LEVEL_FIELDS:
        if name in labels:
            return labels[name]
    return None


def add_detected_levels(streams: list[PushStream]) -> None:
    """Give every entry of these streams its `detected_level` structured metadata (in place)."""
    for stream in streams:
        if DETECTED_LEVEL in stream.labels:
            continue  # the stream names it already: a second one would only conflict
        from_label = _first_field(stream.labels)
        stream_level = normalize_level(from_label) if from_label is not None else None
        entries = stream.entries
        for i, (ts, line, metadata) in enumerate(entries):
            if metadata and DETECTED_LEVEL in metadata:
                level = normalize_level(metadata[DETECTED_LEVEL])
                if level != metadata[DETECTED_LEVEL]:
                    entries[i] = (ts, line, {**metadata, DETECTED_LEVEL: level})
                continue
            if stream_level is not None:
                level = stream_level
            else:
                from_metadata = _first_field(metadata) if metadata else None
                level = normalize_level(from_metadata) if from_metadata is not None else level_of_line(line)
            entries[i] = (
                ts,
                line,
                {**metadata, DETECTED_LEVEL: level} if metadata else {DETECTED_LEVEL: level},
            )
