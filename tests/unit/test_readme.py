"""README.md shows what `make demo` prints: its summary block has the demo's rows, in order, laid out
as the demo lays them out (the figures themselves are checked by tests/integration/test_pipeline*.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.stack.demo import ROWS, summary_table

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_demo_block() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"Its summary:\n\n```\n(.*?)\n```", text, re.DOTALL)
    assert match, "README.md has no demo summary block after 'Its summary:'"
    return match.group(1)


def test_the_readmes_demo_summary_is_what_the_demo_prints():
    block = readme_demo_block()
    figures = {
        key: int(line.rsplit(maxsplit=1)[1]) for (key, _), line in zip(ROWS, block.splitlines()[1:], strict=False)
    }
    producers = json.loads(re.search(r"producers: (\{.*?\})", block).group(1))

    assert summary_table({**figures, "producers": producers}) == block


def test_the_quick_start_has_two_commands():
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in quick_start.splitlines()] == [["make", "demo"], ["make", "test"]]
