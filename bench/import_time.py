"""How long `import logfire_notebook` takes in a fresh interpreter (target: at most 150 ms of its own).

Baselines measured in the same run: a bare `python -c pass` and `import json`. The package's cost is the
difference from the bare interpreter; heavy libraries (polars, pyarrow, httpx, duckdb) must load only on
first use, which the last lines check and show (`from logfire_notebook import LogfireClient` loads httpx).

Run: .venv/bin/python bench/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
HEAVY = ("polars", "pyarrow", "httpx", "duckdb", "IPython", "anywidget", "traitlets")


def wall(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def loaded_heavy(code: str) -> list[str]:
    probe = f"{code}; import sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, env=ENV, capture_output=True, text=True
    ).stdout
    return out.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    wall("import logfire_notebook", 2)  # warm the OS file cache
    bare = wall("pass", args.runs)
    json_ = wall("import json", args.runs)
    package = wall("import logfire_notebook", args.runs)
    client = wall("from logfire_notebook import LogfireClient", args.runs)
    own = package - bare
    print(f"median of {args.runs} fresh interpreters:")
    print(f"  python -c pass                              {bare * 1000:7.1f} ms")
    print(f"  import json                                 {json_ * 1000:7.1f} ms")
    print(f"  import logfire_notebook                     {package * 1000:7.1f} ms")
    print(f"  from logfire_notebook import LogfireClient  {client * 1000:7.1f} ms")
    print(f"  import logfire_notebook costs {own * 1000:.1f} ms over a bare interpreter (target <= 150 ms)")
    print(f"  ratio to python -c pass: {package / bare:.2f}x; to import json: {package / json_:.2f}x")
    heavy = loaded_heavy("import logfire_notebook")
    print(f"  heavy modules loaded by `import logfire_notebook`: {', '.join(heavy) or 'none'}")
    print(
        f"  ... by `from logfire_notebook import LogfireClient`: {', '.join(loaded_heavy('from logfire_notebook import LogfireClient')) or 'none'}"
    )


if __name__ == "__main__":
    main()
