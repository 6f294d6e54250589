"""The Go templates of line_format/label_format, rendered as Loki renders them: control flow, variables,
trimming, the function library, Go's printing of values, and the errors (refused at parse time, or
TemplateFormatErr on the entry). The HTTP path is in the LogQL scenarios; these cover the many forms."""

from __future__ import annotations

import pytest

from logfire_notebook.server.loki.templates import MAX_OUTPUT, Template, TemplateError, TemplateRuntimeError

LABELS = {"app": "api", "status": "503", "path": "/b", "msg": "  hi  ", "n": "7", "took": "1.5s"}
TS = 1_704_067_201_500_000_000  # 2024-01-01T00:00:01.5Z


def render(text: str, labels: dict[str, str] | None = None) -> str:
    return Template(text).render(LABELS if labels is None else labels, "the line", TS)


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ('{{ if eq .status "503" "504" }}gateway{{ end }}', "gateway"),
        ("{{ if .missing }}a{{ else if .app }}b{{ else }}c{{ end }}", "b"),
        ("{{ if lt (float64 .n) 7.5 }}small{{ end }}", "small"),
        ('{{ $s := .status }}{{ $s = "x" }}{{ $s }}', "x"),
        ("a  {{- .app -}}  b", "aapib"),
        ("{{/* nothing */}}", ""),
        ('{{ range $k, $v := . }}{{ if eq $k "app" }}{{ $v }}{{ end }}{{ end }}', "api"),
        ('{{ .path | printf "%q" }} {{ printf "%05.1f|%x|%v" 2.25 255 true }}', '"/b" 002.2|ff|true'),
        ('{{ printf "%d %s" 1 }}', "1 %!s(MISSING)"),
        (
            "{{ addf 0.1 0.2 }} {{ mulf 1e30 10 }} {{ divf 1 0 }} {{ 2.0 }}",
            "0.30000000000000004 1e+31 +Inf 2",
        ),
        (
            "{{ div -7 2 }} {{ mod -7 2 }} {{ max 1 .n 3 }} {{ round 2.345 2 }} {{ ceil 1.2 }}",
            "-3 -1 7 2.35 2",
        ),
        (
            '{{ substr 1 3 .app }} {{ trunc -2 .app }} {{ repeat 2 .app }} {{ Title "a b" }}',
            "pi pi apiapi A B",
        ),
        ('{{ TrimLeft .path "/" }} {{ Trim "xxaxx" "x" }} {{ trimAll "x" "xax" }}', "b a a"),
        ('{{ contains "p" .app }} {{ hasPrefix "a" .app }} {{ hasSuffix "z" .app }}', "true true false"),
        ('{{ count "[0-9]" .status }} {{ regexReplaceAllLiteral "[0-9]" .status "$1" }}', "3 $1$1$1"),
        ("{{ alignLeft 2 .app }} {{ alignRight 2 .app }} {{ b64enc .app | b64dec }}", "ap pi api"),
        ('{{ urlencode "a b&c" }} {{ urldecode "a+b%26c" }}', "a+b%26c a b&c"),
        ('{{ duration .took }} {{ bytes "2KiB" }} {{ int "0x10" }} {{ int "junk" }}', "1.5 2048 16 0"),
        (
            '{{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | date "Mon Jan _2 03:04:05.999 PM -0700" }}',
            "1704067201500 Mon Jan  1 12:00:01.5 AM +0000",
        ),
        ('{{ toDate "2006-01-02T15:04:05Z07:00" "2024-01-01T02:00:00+02:00" | unixEpoch }}', "1704067200"),
        ('{{ unixToTime "1704067200000" }}', "2024-01-01 00:00:00 +0000 UTC"),
        ("{{ len __line__ }} {{ __line__ | ToUpper }}", "8 THE LINE"),
    ],
)
def test_template_renders_as_go_would(template: str, text: str) -> None:
    assert render(template) == text


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ nope .a }}", 'function "nope" not defined'),
        ("{{ if .a }}x", "needs an {{end}}"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ .a ", "unclosed action"),
        ("{{ with .a }}{{ end }}", "{{with}} is not supported"),
        ("{{ (upper .a }}", "unclosed left paren"),
    ],
)
def test_a_bad_template_is_refused_with_the_query(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("(", r"\(")):
        Template(template)


@pytest.mark.parametrize(
    "template",
    [
        "{{ lt .status 600 }}",  # a string compared with a number
        "{{ div 1 0 }}",
        "{{ range .app }}{{ end }}",  # a string cannot be ranged over
        "{{ .app.sub }}",
        "{{ $nope }}",
        "{{ repeat 2000000 .app }}",  # past the output cap
    ],
)
def test_a_template_failing_on_an_entry_raises_the_runtime_error(template: str) -> None:
    with pytest.raises(TemplateRuntimeError):
        render(template)


def test_range_over_no_labels_takes_the_else_branch() -> None:
    assert render("{{ range $k, $v := . }}{{ $k }}{{ else }}empty{{ end }}", {}) == "empty"


def test_output_cap_is_a_megabyte_of_text() -> None:
    assert MAX_OUTPUT == 1 << 20
    assert len(render("{{ repeat 1000 .app }}")) == 3000
