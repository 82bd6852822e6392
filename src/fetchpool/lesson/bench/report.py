"""The benchmark for people: a table per section and the lesson's findings in numbers."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .model import Result, Row, Section

__all__ = ["describe", "findings", "print_result", "table"]


def describe(section: Section) -> str:
    """What a section measured, in one line."""
    if section.kind == "io":
        if section.delay_ms is not None:
            what = (
                f"{section.items} pages from the built-in site, each answering after "
                f"{section.delay_ms} ms"
            )
        else:
            what = f"{section.items} URLs from your sources"
        line = f"I/O-bound: {what}; {section.concurrency} in flight in the concurrent modes"
        if section.extract:
            line += f"; --extract {','.join(section.extract)}"
    else:
        line = (
            f"CPU-bound: {section.items} pages, each parsed {section.rounds} times "
            f"(html.parser, pure Python); {section.workers} threads or processes"
        )
    if section.repeat > 1:
        line += f"; median of {section.repeat} runs"
    return line


def table(section: Section) -> Table:
    """The section's rows as a rich table."""
    out = Table(expand=False)
    out.add_column("mode")
    out.add_column("c" if section.kind == "io" else "workers", justify="right")
    out.add_column("wall", justify="right")
    if section.repeat > 1:
        out.add_column("spread", justify="right")
    out.add_column("speedup", justify="right")
    out.add_column("pages/s", justify="right")
    out.add_column("peak mem", justify="right")
    out.add_column("CPU", justify="right")
    out.add_column("efficiency", justify="right")
    out.add_column("ok" if section.kind == "io" else "pages", justify="right")
    for row in section.finished_rows:
        out.add_row(*_cells(section, row))
    return out


def _cells(section: Section, row: Row) -> list[str]:
    cells = [row.mode, str(row.workers)]
    if not row.done:
        blank = 7 if section.repeat > 1 else 6
        return [*cells, "failed", *[""] * (blank - 1), (row.error or "")[:60]]
    cells.append(f"{row.wall:.2f} s")
    if section.repeat > 1:
        cells.append(f"{row.wall_min:.2f}–{row.wall_max:.2f}")
    speedup, rate, eff = section.speedup(row), section.rate(row), section.efficiency(row)
    cells += [
        "–" if speedup is None else f"{speedup:.1f}×",
        "–" if rate is None else f"{rate:,.1f}",
        f"{row.peak_rss / 1e6:,.0f} MB",
        f"{row.cpu:.2f} s",
        "–" if eff is None else f"{eff:.0%}",
        f"{row.ok}/{row.ok + row.failed}",
    ]
    return cells


def findings(result: Result) -> list[str]:
    """The lesson's two findings, as this run measured them."""
    lines: list[str] = []
    io = result.io
    if io is not None and io.baseline is not None:
        others = [r for r in io.finished_rows if r.mode != "sequential" and r.done]
        ups = [s for s in (io.speedup(r) for r in others) if s is not None]
        if ups:
            # N x delay over ceil(N / c) x delay; unknown on real sites.
            alone, together = io.ideal(io.baseline), io.ideal(others[0])
            ideal = f" (ideal {alone / together:.1f}×)" if alone and together else ""
            lines.append(
                f"I/O-bound: the concurrent modes were {min(ups):.1f}–{max(ups):.1f}× faster "
                f"than sequential{ideal}. Waiting overlaps in threads, coroutines and "
                f"processes alike."
            )
    cpu = result.cpu
    if cpu is not None and cpu.baseline is not None:
        threads, procs = cpu.row("threads"), cpu.row("processes")
        parts = []
        if threads is not None and threads.done:
            why = (
                "the GIL lets one thread run Python code at a time"
                if result.machine.gil_enabled
                else "this free-threaded build runs them in parallel"
            )
            parts.append(f"threads {cpu.speedup(threads):.1f}× ({why})")
        if procs is not None and procs.done:
            parts.append(f"processes {cpu.speedup(procs):.1f}× on {cpu.cores} cores")
        if parts:
            lines.append("CPU-bound: " + ", ".join(parts) + ", against sequential.")
        starved = _starved(cpu, result.machine.gil_enabled)
        if starved:
            lines.append(
                "Note: the machine was busy with other work: "
                + ", ".join(starved)
                + ". These CPU-bound figures understate what this machine can do; "
                "run again when it is quiet, or with --repeat."
            )
    return lines


def _starved(cpu: Section, gil: bool) -> list[str]:
    """The CPU-bound rows that got clearly less CPU than they could use, as phrases.

    CPU time over wall time is how many cores a run really had. Sequential can use one,
    threads one under the GIL, processes one each up to the cores.
    """
    found = []
    for row in cpu.rows:
        if not row.done or row.wall <= 0:
            continue
        could = 1 if row.mode == "sequential" or (row.mode == "threads" and gil) else 0
        could = could or min(row.workers, cpu.cores)
        had = row.cpu / row.wall
        if had < 0.75 * could:
            found.append(f"{row.mode} had {had:.1f} of {could} core{'s' if could > 1 else ''}")
    return found


def print_result(result: Result, console: Console) -> None:
    """Every section's table, then the findings."""
    console.print(f"fetchpool bench on {result.machine.label()}", soft_wrap=True)
    for section in result.sections:
        if section.finished_rows:
            console.print()
            console.print(describe(section), soft_wrap=True)
            console.print(table(section))
    notes = findings(result)
    if notes:
        console.print()
        for line in notes:
            console.print(line, soft_wrap=True)
    if result.interrupted:
        console.print()
        console.print("Interrupted: the rows above are the runs that finished.")
