"""Every document a reader is sent to exists in the repo.

README.md, manifest.yml and docs/ link to files (`[text](path)`) and name them (`` `path` ``);
a clone must hold each one: a link to a missing file, or a name like `running.md` that only
the product spec beside the repo had, sends a new user nowhere on day one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([REPO / "README.md", REPO / "manifest.yml", *(REPO / "docs").rglob("*.md")])
SPEC_COPIES = {"runbook.md", "running.md", "commands.md"}  # docs/spec/: verbatim, their own links are the spec's

#: Files a document names that belong to the user or are written at run time, not to the repo
#: (`ops.es.yml`: the demo's Spanish copy of its ops.yml, in the demo's own folder).
USERS_OWN = {"ops.yml", ".env", "ops.es.yml"}

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NAME = re.compile(r"`([\w./-]+\.(?:md|yml|yaml|py|sh|json|toml|js))`")


def _documents() -> list[Path]:
    return [d for d in DOCUMENTS if not (d.parent.name == "spec" and d.name in SPEC_COPIES)]


def _exists(name: str, doc: Path) -> bool:
    if (doc.parent / name).exists() or (REPO / name).exists():
        return True
    if "/" not in name:  # a bare file name: the repo holds it somewhere
        return any(p for p in REPO.rglob(name) if ".venv" not in p.parts and "node_modules" not in p.parts)
    return False


def missing_targets(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if not target.startswith(("http://", "https://", "mailto:")) and not (doc.parent / target).exists():
            missing.append(f"link {target}")
    for match in NAME.finditer(text):
        name = match.group(1)
        if name.startswith("/") or name in USERS_OWN or _exists(name, doc):
            continue
        missing.append(f"name {name}")
    return missing


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: str(d.relative_to(REPO)))
def test_every_file_a_document_links_or_names_exists(doc: Path) -> None:
    assert missing_targets(doc) == []


def test_a_name_the_repo_lacks_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text("See `nowhere_at_all.md` and [the guide](missing/guide.md); `README.md` is here.\n")
    assert missing_targets(doc) == ["link missing/guide.md", "name nowhere_at_all.md"]
