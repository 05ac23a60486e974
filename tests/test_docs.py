"""The project's own notes stand alone: no tracked file leans on the reference folder beside the
checkout, and every section of docs/protocols.md that a file cites exists."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import REPO

PROTOCOLS = REPO / "docs" / "protocols.md"
# Outside the checkout: the reference folder and the notes it held before docs/protocols.md.
FOREIGN = re.compile(r"\.\./shared|\bPROTOCOLS\b")
# A citation: the path, then the section heading in double quotes (a comma, a colon or a line
# break may come between them).
CITATION = re.compile(r'docs/protocols\.md[,:]?\s*"([^"\n]+)"')


def tracked_texts() -> dict[str, str]:
    """Every file git tracks, as text (undecodable bytes dropped)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"not a git checkout: {err}")
    paths = [p for p in listed.split("\0") if p and (REPO / p).is_file()]
    return {p: (REPO / p).read_bytes().decode("utf-8", errors="ignore") for p in paths}


def test_no_tracked_file_outside_tests_and_ci_refers_to_the_reference_folder():
    offenders = [
        f"{path}:{number}: {line.strip()}"
        for path, text in tracked_texts().items()
        if not path.startswith(("tests/", ".ci/"))
        for number, line in enumerate(text.splitlines(), 1)
        if FOREIGN.search(line)
    ]
    assert not offenders, "cite docs/protocols.md or the paper instead:\n" + "\n".join(offenders)


def test_every_cited_protocols_section_is_a_heading():
    headings = {
        line.lstrip("#").strip()
        for line in PROTOCOLS.read_text().splitlines()
        if line.startswith("#")
    }
    cited = {
        (path, section)
        for path, text in tracked_texts().items()
        for section in CITATION.findall(text)
    }
    assert len({path for path, _ in cited}) >= 5, f"too few files cite docs/protocols.md: {cited}"
    missing = sorted(f'{path}: "{section}"' for path, section in cited if section not in headings)
    assert not missing, f"sections cited but not in {PROTOCOLS.name} ({sorted(headings)}):\n" + (
        "\n".join(missing)
    )


def test_every_protocols_section_names_its_source():
    """Each method's section says where its facts come from (a repository or a paper section)."""
    sections = re.split(r"^## ", PROTOCOLS.read_text(), flags=re.M)[1:]
    assert len(sections) >= 6
    for section in sections:
        title, body = section.split("\n", 1)
        assert re.search(r"Source|§|`[\w-]+/[\w.-]+`", body), f"section {title!r} cites no source"
