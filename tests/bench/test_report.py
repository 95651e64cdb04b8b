"""`python -m bench.report --tiny` runs in seconds and writes valid JSON and a markdown table
(the full report is `make bench-report`, docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.broker import find_mosquitto

pytestmark = pytest.mark.broker
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_the_report_tool_runs_in_tiny_mode_and_writes_json_and_markdown(tmp_path):
    out = tmp_path / "bench"
    # a section measured by other tools (make memory, make soak) survives a new report
    out.with_suffix(".md").write_text("# Benchmarks\n\n## Memory\n\n- measured by hand\n")
    done = subprocess.run(
        [sys.executable, "-m", "bench.report", "--out", str(out), "--tiny"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.with_suffix(".json").read_text())
    assert {"cpu", "cores", "python", "numpy", "ai-edge-litert"} <= report["machine"].keys()
    assert len(report["load_average_start"]) == 3 and len(report["load_average_end"]) == 3
    sections = report["sections"]
    assert not [name for name, s in sections.items() if "error" in s]
    assert sections["drain"]["drain"]["reads"] == 300
    assert sections["drain"]["drain"]["backlog_after"]["reads"] == 0
    assert sections["drain"]["drain_reads_per_s"] > 0
    assert sections["hotlist_1000"]["exact_us"]["median"] > 0
    figures = {row["figure"] for row in report["summary"]}
    assert {"recogniser", "detector", "pipeline", "store insert", "backlog drain"} <= figures
    markdown = out.with_suffix(".md").read_text()
    assert markdown.startswith("# Benchmarks")
    assert "| Figure | Value |" in markdown and "| backlog drain |" in markdown
    assert markdown.count("## Memory") == 1 and markdown.endswith("- measured by hand\n")
