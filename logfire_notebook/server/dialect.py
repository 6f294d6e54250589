"""Logfire's SQL dialect on DuckDB: the few rewrites and macros that make Logfire queries run unchanged.

DuckDB already speaks most of it (`->>`, chained `->`, `array_has`, `time_bucket`, `date_trunc`,
`EXTRACT(EPOCH ...)`, `now() - interval '5 minutes'`). What is left:

- `level = 'error'`, `level > 'info'`, `'warn' <= level`, `level IN ('error', 'fatal')`: level names are
  compared as their numbers, as Logfire does. The rewrite works on DuckDB's own tokens, so text inside
  string literals or comments is never touched.
- `x->'a'->>'b'` chains are parenthesised, because DuckDB gives `->` (also its lambda arrow) the lowest
  precedence, so `attributes->'k' IS NOT NULL` would otherwise bind as `attributes->('k' IS NOT NULL)`.
- `approx_percentile_cont(p) WITHIN GROUP (ORDER BY x)` (DataFusion's ordered-set form) and
  `approx_percentile_cont(x, p)` become `approx_quantile(x, p)`.
- `x ? 'key'` (datafusion-functions-json's key-exists operator, which DuckDB reads as a parameter) becomes
  `json_contains(x, 'key')`.
- `(x->'k')::numeric` and the like: datafusion-functions-json turns a cast of `->` into a typed getter
  (`json_get_float` for float and decimal targets, `json_get_int`, `json_get_str`, `json_get_bool`), which
  gives NULL for a value of another type instead of failing. The cast becomes that getter here too.
- `GROUP BY day` where `day` is both a SELECT alias and a column (`date_trunc('day', start_timestamp) AS
  day`, from Logfire's cookbook): DataFusion groups by the alias, DuckDB (like Postgres) by the column, so
  such an item becomes the alias's position.
- `level_num(name)` and `level_name(level)` are macros (see `MACROS`), and so are the JSON functions of
  datafusion-functions-json (`sql_json.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from logfire_notebook._schema import TABLES
from logfire_notebook.server import sql_catalog, sql_json, sql_metrics

__all__ = ["LEVELS", "MACROS", "rewrite"]

LEVELS: dict[str, int] = {
    "trace": 1,
    "debug": 5,
    "info": 9,
    "notice": 10,
    "warn": 13,
    "error": 17,
    "fatal": 21,
}
# Names Logfire also accepts for the same numbers.
_ALIASES = {"warning": 13, "critical": 21}

_NUM_CASES = " ".join(f"WHEN '{n}' THEN {v}" for n, v in {**LEVELS, **_ALIASES}.items())
# A number between two named levels takes the name of the one below it, like OpenTelemetry's severities.
_NAME_CASES = " ".join(
    f"WHEN level >= {v} THEN '{n}'" for n, v in sorted(LEVELS.items(), key=lambda kv: -kv[1])
)

MACROS: tuple[str, ...] = (
    f"CREATE OR REPLACE TEMP MACRO level_num(name) AS (CASE lower(name) {_NUM_CASES} END)",
    f"CREATE OR REPLACE TEMP MACRO level_name(level) AS (CASE {_NAME_CASES} END)",
    *sql_json.MACROS,
    *sql_metrics.MACROS,
)

_COMPARISONS = {"=", "==", "!=", "<>", "<", "<=", ">", ">="}
_ARROWS = {"->", "->>"}


@dataclass
class _Tok:
    start: int
    end: int
    kind: str  # keyword, identifier, operator, string_const, numeric_const, comment
    text: str


def _tokens(sql: str) -> list[_Tok]:
    import duckdb

    raw = duckdb.tokenize(sql)
    out: list[_Tok] = []
    for i, (pos, ttype) in enumerate(raw):
        end = raw[i + 1][0] if i + 1 < len(raw) else len(sql)
        text = sql[pos:end].rstrip()
        out.append(_Tok(pos, pos + len(text), ttype.name, text))
    # Drop comments: they never take part in a pattern.
    return [t for t in out if t.kind != "comment"]


def _level_number(tok: _Tok) -> int | None:
    if tok.kind != "string_const" or not (tok.text.startswith("'") and tok.text.endswith("'")):
        return None
    name = tok.text[1:-1].strip().lower()
    return LEVELS.get(name, _ALIASES.get(name))


def _is_level(tok: _Tok) -> bool:
    return tok.kind in ("keyword", "identifier") and tok.text.strip('"').lower() == "level"


def _level_edits(toks: list[_Tok]) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(toks):
        if tok.kind != "operator":
            continue
        op = tok.text.strip()
        if op in _COMPARISONS and 0 < i < len(toks) - 1:
            left, right = toks[i - 1], toks[i + 1]
            for lvl, lit in ((left, right), (right, left)):
                num = _level_number(lit)
                if _is_level(lvl) and num is not None:
                    edits.append((lit.start, lit.end, str(num)))
    # level IN ('a', 'b', ...)
    for i, tok in enumerate(toks[:-2]):
        if _is_level(tok) and toks[i + 1].text.upper() == "IN" and toks[i + 2].text == "(":
            j = i + 3
            while j < len(toks) and toks[j].text != ")":
                num = _level_number(toks[j])
                if num is not None:
                    edits.append((toks[j].start, toks[j].end, str(num)))
                j += 1
    return edits


def _matching_paren(toks: list[_Tok], open_index: int) -> int:
    depth = 0
    for j in range(open_index, len(toks)):
        depth += toks[j].text.count("(") - toks[j].text.count(")") if toks[j].kind == "operator" else 0
        if depth == 0:
            return j
    return -1


def _percentile_edits(sql: str, toks: list[_Tok]) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(toks):
        if tok.text.lower() != "approx_percentile_cont" or i + 1 >= len(toks) or toks[i + 1].text != "(":
            continue
        close = _matching_paren(toks, i + 1)
        if close < 0:
            continue
        args = sql[toks[i + 1].end : toks[close].start].strip()
        after = [t.text.upper() for t in toks[close + 1 : close + 5]]
        if (
            after == ["WITHIN", "GROUP", "(", "ORDER"]
            and close + 5 < len(toks)
            and toks[close + 5].text.upper() == "BY"
        ):
            end = _matching_paren(toks, close + 3)
            if end < 0:
                continue
            expr_toks = toks[close + 6 : end]
            fraction = args
            if expr_toks and expr_toks[-1].text.upper() in ("ASC", "DESC"):
                if expr_toks[-1].text.upper() == "DESC":
                    fraction = f"1 - ({args})"
                expr_toks = expr_toks[:-1]
            if not expr_toks:
                continue
            expr = sql[expr_toks[0].start : expr_toks[-1].end]
            edits.append((tok.start, toks[end].end, f"approx_quantile({expr}, {fraction})"))
        else:
            edits.append((tok.start, tok.end, "approx_quantile"))
    return edits


# Keywords that may stand before a parenthesised expression without naming a function.
_CLAUSE_WORDS = frozenset(
    [
        "select",
        "where",
        "and",
        "or",
        "not",
        "on",
        "by",
        "having",
        "when",
        "then",
        "else",
        "case",
        "in",
        "is",
        "as",
        "from",
        "join",
        "distinct",
        "between",
        "like",
        "ilike",
        "with",
        "union",
        "all",
        "any",
        "exists",
        "some",
        "return",
        "qualify",
        "limit",
        "offset",
        "over",
        "filter",
    ]
)


def _operand_start(toks: list[_Tok], k: int) -> int | None:
    """Index of the first token of the operand that ends at token `k` (a name, a call, a literal, a cast)."""
    if k < 0:
        return None
    tok = toks[k]
    if tok.kind == "operator" and tok.text == ")":
        depth = 0
        for m in range(k, -1, -1):
            if toks[m].kind == "operator":
                depth += toks[m].text.count(")") - toks[m].text.count("(")
            if depth == 0:
                k = m
                break
        else:
            return None
        if k > 0 and (
            toks[k - 1].kind == "identifier"
            or (toks[k - 1].kind == "keyword" and toks[k - 1].text.lower() not in _CLAUSE_WORDS)
        ):
            k -= 1  # a function call
    elif tok.kind not in ("identifier", "keyword", "string_const", "numeric_const"):
        return None
    while k >= 2 and toks[k - 1].text == "." and toks[k - 2].kind in ("identifier", "keyword"):
        k -= 2  # qualified name: r.attributes
    if k >= 2 and toks[k - 1].text == "::":
        return _operand_start(toks, k - 2)  # '{}'::json->'a': the cast binds tighter
    return k


def _arrow_edits(toks: list[_Tok]) -> list[tuple[int, int, str]]:
    """Parenthesise each `x->'a'->>'b'` chain: DuckDB parses `->` with the lowest precedence (it doubles as
    the lambda arrow), so `attributes->'k' IS NOT NULL` would mean `attributes->('k' IS NOT NULL)`."""
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        if not (toks[i].kind == "operator" and toks[i].text in _ARROWS):
            i += 1
            continue
        left = _operand_start(toks, i - 1)
        j = i
        while (
            j + 1 < len(toks)
            and toks[j].kind == "operator"
            and toks[j].text in _ARROWS
            and toks[j + 1].kind in ("string_const", "numeric_const")
        ):
            j += 2
        if left is not None and j > i:
            edits.append((toks[left].start, toks[left].start, "("))
            edits.append((toks[j - 1].end, toks[j - 1].end, ")"))
        i = max(j, i + 1)
    return edits


def _question_edits(toks: list[_Tok]) -> list[tuple[int, int, str]]:
    """`x ? 'k'` -> `json_contains(x, 'k')`; the key is one token or a parenthesised expression."""
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(toks):
        if not (tok.kind == "operator" and tok.text == "?") or i + 1 >= len(toks):
            continue
        left = _operand_start(toks, i - 1)
        right = _matching_paren(toks, i + 1) if toks[i + 1].text == "(" else i + 1
        while right + 2 < len(toks) and toks[right + 1].text == "." and toks[i + 1].text != "(":
            right += 2  # a qualified name: keys.k
        if left is None or right < 0 or toks[i + 1].text.lower() in _CLAUSE_WORDS:
            continue
        key = toks[i + 1]
        if right == i + 1 and key.kind == "string_const" and key.text.startswith("'"):
            # A literal key: DuckDB's own json_exists with a quoted path, which reads the JSON once
            # (json_contains validates it first); coalesce makes NULL text give false, as in DataFusion.
            name = key.text[1:-1].replace("''", "'")
            path = "'$.\"" + name.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''") + "\"'"
            edits.append((toks[left].start, toks[left].start, "coalesce(json_exists("))
            edits.append((tok.start, key.end, f", {path}), false)"))
            continue
        edits.append((toks[left].start, toks[left].start, "json_contains("))
        edits.append((tok.start, tok.end, ","))
        edits.append((toks[right].end, toks[right].end, ")"))
    return edits


# Cast targets, by DataFusion's type for the name, that datafusion-functions-json turns into a typed getter.
_CAST_GETTERS = {
    **dict.fromkeys(("bool", "boolean"), "bool"),
    **dict.fromkeys(("float", "float4", "float8", "real", "double", "numeric", "decimal"), "float"),
    **dict.fromkeys(("int", "integer", "int4", "int8", "bigint"), "int"),
    **dict.fromkeys(("text", "varchar", "string"), "str"),
}


def _type_end(toks: list[_Tok], i: int) -> int:
    """Index of the last token of the type name that starts at token `i` (`double precision`,
    `numeric(10, 2)`)."""
    if toks[i].text.lower() == "double" and i + 1 < len(toks) and toks[i + 1].text.lower() == "precision":
        return i + 1
    if i + 1 < len(toks) and toks[i + 1].text == "(":
        end = _matching_paren(toks, i + 1)
        return end if end > 0 else i
    return i


def _is_json_get(toks: list[_Tok], start: int, end: int) -> bool:
    """Whether tokens start..end are `x->'k'` (also in parentheses): a JSON value, not text."""
    while toks[start].text == "(" and _matching_paren(toks, start) == end and end > start:
        start, end = start + 1, end - 1
    return end - start >= 2 and toks[end - 1].kind == "operator" and toks[end - 1].text == "->"


def _cast_edits(sql: str, toks: list[_Tok]) -> list[tuple[int, int, str]]:
    """`(x->'k')::numeric` -> `_lf_as_float((x->'k'))`, as datafusion-functions-json's rewrite does; and a
    bare `numeric`/`decimal` is DataFusion's Decimal128(38, 10), not DuckDB's DECIMAL(18, 3)."""
    edits: list[tuple[int, int, str]] = []
    getter_types: set[int] = set()
    for i, tok in enumerate(toks):
        if not (tok.kind == "operator" and tok.text == "::") or i + 1 >= len(toks):
            continue
        getter = _CAST_GETTERS.get(toks[i + 1].text.lower())
        left = _operand_start(toks, i - 1)
        if getter is None or left is None or not _is_json_get(toks, left, i - 1):
            continue
        end = _type_end(toks, i + 1)
        getter_types.add(i + 1)
        operand = sql[toks[left].start : toks[i - 1].end]
        edits.append((toks[left].start, toks[end].end, f"{sql_json.TYPED_GETTERS[getter]}({operand})"))
    for i, tok in enumerate(toks):
        if (
            tok.text.lower() in ("numeric", "decimal")
            and i not in getter_types
            and i > 0
            and (toks[i - 1].text == "::" or toks[i - 1].text.upper() == "AS")
            and (i + 1 >= len(toks) or toks[i + 1].text != "(")
        ):
            edits.append((tok.start, tok.end, "DECIMAL(38, 10)"))
    return edits


_TABLE_COLUMNS = frozenset(c.name for columns in TABLES.values() for c in columns) | {"value"}
_CLAUSE_ENDS = frozenset(
    ["having", "order", "limit", "qualify", "window", "union", "except", "intersect", "offset"]
)


def _depths(toks: list[_Tok]) -> list[int]:
    """Parenthesis depth of each token (an opening parenthesis counts at its outer depth)."""
    depths, depth = [], 0
    for tok in toks:
        if tok.kind == "operator" and tok.text == ")":
            depth -= 1
        depths.append(depth)
        if tok.kind == "operator" and tok.text == "(":
            depth += 1
    return depths


def _split_items(toks: list[_Tok], depths: list[int], start: int, end: int) -> list[tuple[int, int]]:
    """The comma-separated items of tokens start..end-1 at the depth of `start`, as (first, last) indexes."""
    items, first = [], start
    for i in range(start, end):
        if toks[i].text == "," and depths[i] == depths[start]:
            items.append((first, i - 1))
            first = i + 1
    if first < end:
        items.append((first, end - 1))
    return items


def _select_aliases(
    toks: list[_Tok], depths: list[int], select: int, end: int
) -> dict[str, tuple[int, bool]]:
    """SELECT-list aliases -> (1-based position, whether the item is just that column)."""
    start = select + 1
    if start < end and toks[start].text.lower() in ("distinct", "all"):
        start += 1
    aliases = {}
    for position, (first, last) in enumerate(_split_items(toks, depths, start, end), 1):
        name = toks[last].text.strip('"').lower()
        has_as = last - 1 >= first and toks[last - 1].text.lower() == "as"
        before = toks[last - 1] if last > first else None
        implicit = (
            before is not None
            and (toks[last].kind == "identifier" or (toks[last].kind == "keyword" and name != "end"))
            and (before.text == ")" or before.kind in ("identifier", "string_const", "numeric_const"))
        )
        if toks[last].kind in ("identifier", "keyword") and (has_as or implicit):
            aliases[name] = (position, False)
        elif first == last:
            aliases[name] = (position, True)
    return aliases


def _group_alias_edits(toks: list[_Tok]) -> list[tuple[int, int, str]]:
    depths = _depths(toks)
    words = [t.text.lower() for t in toks]
    edits = []
    for g in range(len(toks) - 1):
        if words[g] != "group" or words[g + 1] != "by":
            continue
        d = depths[g]
        select = next(
            (i for i in range(g - 1, -1, -1) if depths[i] < d or (words[i] == "select" and depths[i] == d)),
            -1,
        )
        if select < 0 or words[select] != "select":
            continue
        frm = next((i for i in range(select, g) if words[i] == "from" and depths[i] == d), g)
        aliases = _select_aliases(toks, depths, select, frm)
        end = next(
            (
                i
                for i in range(g + 2, len(toks))
                if depths[i] < d or (depths[i] == d and (words[i] in _CLAUSE_ENDS or words[i] == ";"))
            ),
            len(toks),
        )
        for first, last in _split_items(toks, depths, g + 2, end):
            name = words[first].strip('"')
            if first == last and name in aliases and name in _TABLE_COLUMNS and not aliases[name][1]:
                edits.append((toks[first].start, toks[first].end, str(aliases[name][0])))
    return edits


_CATALOG_VIEWS = {"columns": sql_catalog.columns_select, "tables": sql_catalog.tables_select}


def _catalog_edits(toks: list[_Tok]) -> list[tuple[int, int, str]]:
    """`SHOW COLUMNS FROM t` becomes DataFusion's query for it; `information_schema.columns` and `.tables`
    become SELECTs over the schema (see sql_catalog.py)."""
    words = [t.text.lower().strip('"') for t in toks]
    if words[:2] == ["show", "columns"] or words[:3] in (
        ["show", "full", "columns"],
        ["show", "extended", "columns"],
    ):
        at = words.index("columns") + 1
        if at + 1 < len(toks) and words[at] in ("from", "in"):
            table = words[at + 1]
            end = at + 1
            if end + 2 < len(toks) and toks[end + 1].text == ".":
                table, end = words[end + 2], end + 2  # public.records
            return [(toks[0].start, toks[end].end, sql_catalog.show_columns_select(table))]
    edits = []
    for i in range(len(toks) - 2):
        if words[i] == "information_schema" and toks[i + 1].text == "." and words[i + 2] in _CATALOG_VIEWS:
            aliased = i + 3 < len(toks) and (toks[i + 3].kind == "identifier" or words[i + 3] == "as")
            alias = "" if aliased else f" AS {words[i + 2]}"
            edits.append((toks[i].start, toks[i + 2].end, f"({_CATALOG_VIEWS[words[i + 2]]()}){alias}"))
    return edits


def _apply(sql: str, edits: list[tuple[int, int, str]]) -> str:
    out = sql
    last_start = len(sql) + 1
    for start, end, text in sorted(edits, reverse=True):
        if end > last_start:  # overlapping edit: keep the one further right
            continue
        out = out[:start] + text + out[end:]
        last_start = start
    return out


def rewrite(sql: str) -> str:
    """Logfire-dialect SQL to DuckDB SQL; text that needs no rewrite comes back unchanged.

    Each kind of rewrite is a pass over fresh tokens, so rewrites nest (an arrow chain inside the ORDER BY
    of an ordered-set aggregate, say).
    """
    lowered = sql.lower()
    if "information_schema" in lowered or lowered.lstrip().startswith("show"):
        sql = _apply(sql, _catalog_edits(_tokens(sql)))
    if "->" in sql:
        sql = _apply(sql, _arrow_edits(_tokens(sql)))
    if "level" in lowered:
        sql = _apply(sql, _level_edits(_tokens(sql)))
    if "?" in sql:
        sql = _apply(sql, _question_edits(_tokens(sql)))
    if "group" in lowered:
        sql = _apply(sql, _group_alias_edits(_tokens(sql)))
    if "::" in sql or "numeric" in lowered or "decimal" in lowered:
        sql = _apply(sql, _cast_edits(sql, _tokens(sql)))
    if "approx_percentile_cont" in lowered:
        sql = _apply(sql, _percentile_edits(sql, _tokens(sql)))
    return sql
