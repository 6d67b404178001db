"""Terminal rendering helpers: aligned tables (wide characters included) and durations."""

from __future__ import annotations

import io

from assembla_mirror.cli.display import TerminalProgress, format_duration
from assembla_mirror.cli.render import display_width, table


def test_table_aligns_wide_characters_and_numbers() -> None:
    text = table(("space", "hours"), [("研发中心", 1.5), ("Big Project", 10.0), ("Ünïcode", None)])
    lines = text.splitlines()
    assert [display_width(line) for line in lines[:3]] == [display_width(lines[1])] * 3
    assert lines[2] == "研发中心      1.50"  # 8 columns of CJK, padded like 8 letters
    assert lines[3].endswith("10.00")
    assert lines[4].rstrip() == "Ünïcode"


def test_durations() -> None:
    assert [format_duration(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]


def test_progress_redraws_one_line_per_resource_with_eta() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.begin("tickets:a", "tickets · A")
    progress.begin("tickets:b", "tickets · B")
    progress.advance("tickets:a", 100)
    progress.end("tickets:a")
    progress.begin("time_logs", "time logs", total=10)
    progress.advance("time_logs", 1)
    progress.end("tickets:b")
    progress.close()
    final = out.getvalue().split("\x1b[J")[-1].splitlines()
    assert final[0].startswith(" ✓ tickets")
    assert "100 rows" in final[0]
    assert "of 10" in final[1]
