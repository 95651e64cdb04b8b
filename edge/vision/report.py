"""The `eval --report DIR` folder: one HTML page a person would rather look at than read.

Summary, accuracy by plate height, then the crop of every missed or misread plate with its
label, what the unit read end to end and what the recogniser alone read.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import cv2

from edge.vision.evaluate import Tally, by_height, load_image
from edge.vision.failures import KINDS, failure_kind
from edge.vision.reader import crop

PAGE = """<!doctype html><meta charset="utf-8"><title>anpr-edge eval: {title}</title>
<style>body{{font:14px sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
.crops{{display:flex;flex-wrap:wrap}}
figure{{margin:4px;padding:4px;border:1px solid #ddd}} figcaption{{font-family:monospace}}
img{{height:48px;image-rendering:pixelated}} .bad{{color:#b00}}</style>
<h1>anpr-edge eval: {title}</h1>
<h2>Summary</h2>{summary}
<h2>By plate height</h2>{heights}
<h2>Why plates were missed</h2>{kinds}
<h2>Missed and misread plates ({count})</h2>
<p>label / end-to-end read / recogniser alone on the labelled box</p>
<div class="crops">{crops}</div>
"""


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in ("detection", "read", "ocr", "ms_per_image", "ms_per_plate"):
        for name, value in result[key].items():
            rows.append({"metric": f"{key}.{name}", "value": value})
    return rows


def _kind_rows(failures: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    kinds = [k for k in KINDS if k in failures["read"] or k in failures["ocr"]]
    return [
        {
            "kind": k,
            "end to end": failures["read"].get(k, 0),
            "recogniser alone": failures["ocr"].get(k, 0),
        }
        for k in kinds
    ]


def write_report(folder: Path, dataset_folder: Path, result: dict[str, Any], tally: Tally) -> Path:
    crops_dir = folder / "crops"
    crops_dir.mkdir(parents=True, exist_ok=True)
    failures = [o for o in tally.outcomes if o.read != o.label]
    figures = []
    for n, outcome in enumerate(failures):
        image = load_image(dataset_folder / outcome.file)
        name = f"{n:05d}.png"
        cv2.imwrite(str(crops_dir / name), crop(image, outcome.box, 0.1))
        read = outcome.read if outcome.read is not None else "(missed)"
        caption = (
            f"{outcome.label} / {read} / {outcome.ocr}: {failure_kind(outcome.label, outcome.read)}"
        )
        figures.append(
            f'<figure><img src="crops/{name}" title="{html.escape(outcome.file)}">'
            f'<figcaption class="bad">{html.escape(caption)}</figcaption></figure>'
        )
    page = PAGE.format(
        title=html.escape(str(dataset_folder)),
        summary=_table(_summary_rows(result)),
        heights=_table(by_height(tally)),
        kinds=_table(_kind_rows(result["failures"])),
        count=len(failures),
        crops="".join(figures),
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return folder / "index.html"
