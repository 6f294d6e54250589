"""Prints the requirements of pyproject.toml's extras (one per line, for `pip install -r`), the package's own
extras expanded, so scripts/setup can install them while npm builds the bundles the package needs first."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the venv's pip carries the same parser (tomli)
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]


def requirements(project: dict[str, object], extra: str) -> Iterator[str]:
    extras: dict[str, list[str]] = project["optional-dependencies"]  # type: ignore[assignment]
    own = re.compile(rf"{re.escape(str(project['name']))}\[(?P<extras>[^\]]+)\]")
    for requirement in extras[extra]:
        match = own.fullmatch(requirement.replace(" ", ""))
        if match is None:
            yield requirement
        else:
            for name in match["extras"].split(","):
                yield from requirements(project, name)


def main(extras: list[str]) -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(r for extra in extras for r in requirements(project, extra))]
    print("\n".join(dict.fromkeys(wanted)))


if __name__ == "__main__":
    main(sys.argv[1:])
