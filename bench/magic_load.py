"""Time of `%load_ext logfire_notebook` in a fresh ipykernel, against `%load_ext autoreload` in the same run.

Each measurement starts a new kernel (so nothing is imported yet), times the magic inside the kernel, and checks
that loading the extension imported none of polars, pyarrow or httpx. Target: at most 300 ms.

    .venv/bin/python bench/magic_load.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
HEAVY = ("polars", "pyarrow", "httpx")

CELL = """
import sys as _sys, time as _time, json as _json
_before = set(_sys.modules)
_start = _time.perf_counter()
get_ipython().run_line_magic("load_ext", {extension!r})
_ms = (_time.perf_counter() - _start) * 1000
print(_json.dumps({{"ms": _ms, "heavy": sorted(m for m in {heavy!r} if m in _sys.modules and m not in _before)}}))
"""


def measure(extension: str) -> dict[str, object]:
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        out: list[str] = []

        def keep(msg: dict[str, object]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream" and isinstance(content, dict):
                out.append(str(content["text"]))

        reply = client.execute_interactive(
            CELL.format(extension=extension, heavy=HEAVY), output_hook=keep, timeout=60
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"loading {extension} failed: {reply['content']}")
        return json.loads("".join(out))  # type: ignore[no-any-return]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ours: list[float] = []
    baseline: list[float] = []
    heavy: set[str] = set()
    for _ in range(args.runs):
        # Alternate, so both see the same machine load.
        result = measure("logfire_notebook")
        ours.append(float(result["ms"]))  # type: ignore[arg-type]
        heavy.update(result["heavy"])  # type: ignore[arg-type]
        baseline.append(float(measure("autoreload")["ms"]))  # type: ignore[arg-type]
    ours_ms, base_ms = statistics.median(ours), statistics.median(baseline)
    print(
        f"%load_ext logfire_notebook: median {ours_ms:.1f} ms over {args.runs} fresh kernels (min {min(ours):.1f})"
    )
    print(f"%load_ext autoreload (baseline): median {base_ms:.1f} ms (min {min(baseline):.1f})")
    print(
        f"ratio: {ours_ms / base_ms:.1f}x the baseline; target <= {TARGET_MS:.0f} ms: {'met' if ours_ms <= TARGET_MS else 'MISSED'}"
    )
    print(f"heavy modules imported by loading: {', '.join(sorted(heavy)) or 'none'}")
    return 0 if ours_ms <= TARGET_MS and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
