"""Run the example notebooks in a real ipykernel (nbclient) against a real local backend.

`demo_backend`: a backend on a copy of the session's `demo_data` (filled by `logfire-notebook demo --no-lab`: the data
the examples are written for; the standard test dataset has other services and no PydanticAI spans).
`run_notebook` executes a notebook with the token in the kernel's environment only, and can append probe cells
whose printed JSON the test compares with what it computes itself from the raw rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from _backend import Backend, start_backend
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def demo_backend(
    demo_data: Callable[[Path], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    server = start_backend(demo_data(tmp_path_factory.mktemp("demo") / "data"))
    yield server
    server.stop()


@dataclass
class Executed:
    nb: Any
    probes: list[Any] = field(default_factory=list)

    def cell(self, tag: str) -> Any:
        return next(c for c in self.nb.cells if tag in c.get("metadata", {}).get("tags", []))

    def texts(self, tag: str) -> list[str]:
        """The text/plain of each display/result output of the tagged cell."""
        return [
            o["data"]["text/plain"]
            for o in self.cell(tag).outputs
            if "data" in o and "text/plain" in o["data"]
        ]

    def footer(self, tag: str) -> str:
        return self.texts(tag)[-1]


def kernel_env(backend: Backend) -> dict[str, str]:
    # The same server speaks Loki's API (examples/loki_quickstart.ipynb), as `logfire-notebook demo` sets it.
    return {
        **os.environ,
        "LOGFIRE_READ_TOKEN": backend.token,
        "LOGFIRE_BASE_URL": backend.base_url,
        "LOKI_ADDR": backend.base_url,
    }


def run_notebook(
    path: Path, backend: Backend, probes: Sequence[str] = (), save_to: Path | None = None
) -> Executed:
    """Execute `path` top to bottom (a cell tagged raises-exception may fail), then each probe cell in the same
    kernel. A probe sees `OUT[tag]`, the result (`Out[n]`) of the cell with that tag, and must print one line of
    JSON. `save_to` gets the executed notebook, without the probes."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    results = []
    with client.setup_kernel(env=kernel_env(backend)):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        counts = {
            tag: cell.execution_count
            for cell in nb.cells
            if cell.cell_type == "code"
            for tag in cell.get("metadata", {}).get("tags", [])
        }
        preamble = f"OUT = {{tag: Out[n] for tag, n in {counts!r}.items() if n in Out}}"
        for source in (preamble, *probes):
            probe = nbformat.v4.new_code_cell(source)
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            nb.cells.pop()
            text = "".join(o["text"] for o in probe.outputs if o["output_type"] == "stream")
            if source is not preamble:
                results.append(json.loads(text) if text.strip() else None)
    if save_to is not None:
        nbformat.write(nb, save_to)
    return Executed(nb, results)
