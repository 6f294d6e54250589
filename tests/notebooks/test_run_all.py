"""A failing `%%logfire` cell stops "run all": nbclient sees the error, later cells do not run."""

from __future__ import annotations

import nbformat
import pytest
from _backend import Backend
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .conftest import kernel_env


def test_failing_query_stops_run_all(backend: Backend) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext logfire_notebook"),
        nbformat.v4.new_code_cell("%%logfire\nSELECT no_such_column FROM records"),
        nbformat.v4.new_code_cell("print('after')"),
    ]
    client = NotebookClient(nb, timeout=60, kernel_name="python3")
    with pytest.raises(CellExecutionError) as failure:
        client.execute(env=kernel_env(backend))
    assert failure.value.ename == "QueryError"
    assert "no_such_column" in failure.value.evalue
    (error,) = nb.cells[1].outputs
    assert len(error["traceback"]) == 1
    assert nb.cells[2].outputs == []
    assert nb.cells[2].execution_count is None
