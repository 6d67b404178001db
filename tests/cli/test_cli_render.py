"""Terminal rendering helpers: aligned tables (wide characters included) and durations."""

from __future__ import annotations

import io
from pathlib import Path

from assembla_mirror.cli.display import TerminalProgress, format_duration
from assembla_mirror.cli.render import display_width, markdown_table, table
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncOptions, sync
from tests.support import credentials_for, in_process_settings, run_sync_in_process


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


def test_every_progress_line_of_a_finished_sync_is_final(
    in_process_sim: Simulator, db: Path
) -> None:
    """Comments of changed tickets are fetched during the walks, with no begin of their
    own: when the run is over, their line is finished too (no "…" left), and counts
    tickets, not rows."""
    sim = in_process_sim
    assert run_sync_in_process(sim, db, with_comments=True).ok
    ticket = sim.world.truth().tickets[0]
    sim.world.add_comment(ticket.space_id, ticket.number, "a new comment")
    out = io.StringIO()
    progress = TerminalProgress(out)
    options = SyncOptions(db_path=db, decode_processes=0)
    report = sync(
        options,
        in_process_settings(),
        credentials_for(sim),
        progress=progress,
        transport=sim.transport(),
        legacy_transport=sim.transport(),
    )
    progress.close()
    assert report.ok
    final = out.getvalue().split("\x1b[J")[-1].splitlines()
    assert all(line.startswith(" ✓") for line in final), final
    # and it says what it counted: the changed ticket whose comments were fetched
    [comments] = [line for line in final if " comments " in line]
    assert comments.split()[-2:] == ["1", "tickets"]


def test_a_long_last_column_wraps_between_words_under_itself() -> None:
    note = "one request per ticket, and then some more words"
    rows = [("Big Project", 180, note), ("B", 1, "")]
    lines = table(("space", "requests", "note"), rows, width=40).splitlines()
    assert all(display_width(line) < 40 for line in lines)
    start = lines[0].index("note")
    first, *continued = lines[2:-1]
    assert all(line[:start].isspace() for line in continued)
    assert " ".join([first[start:], *(line.strip() for line in continued)]) == note
    assert lines[-1].split() == ["B", "1"]
    # Without a width (not a terminal), nothing is wrapped.
    assert table(("space", "requests", "note"), rows).splitlines()[2].endswith(note)


def test_markdown_tables_escape_pipes_and_fold_line_breaks() -> None:
    text = markdown_table(("summary", "hours"), [("a | b\nc", 1.5), (None, None)])
    assert text.splitlines() == [
        "| summary | hours |",
        "|---|---:|",
        "| a \\| b c | 1.50 |",
        "|  |  |",
    ]
