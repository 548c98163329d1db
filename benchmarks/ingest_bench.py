"""Plans read from their documents, measured against the seed transcriptions (issue 14, point 6).

    .venv/bin/python benchmarks/ingest_bench.py [--seeds ../shared/seeds] [--formats txt,docx,pdf] [--json PATH] [-v]

Reads each of the five seed documents as .txt, and as .docx (python-docx) and .pdf (WeasyPrint)
made here from the same text (a tab-separated line becomes a table row), through
healthplans.documents.read_plan, and compares each draft with fixtures/plans/*.yaml, the ground
truth: precision and recall of indicators, targets (year, comparator, value), baselines (year,
value), budget lines (amount under its parent's amount), agencies (name), assignments (agency,
role, text) and the metadata fields right, with the seconds each document took. Goal: ≥ 0.95
on targets and budget lines over the five, every metadata field right, < 5 s a document.
Needs no database.
"""

import argparse
import html
import io
import json
import os
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
FORMATS = ("txt", "docx", "pdf")
METADATA = (
    "kind",
    "document_number",
    "issuer",
    "issuer_parent",
    "place",
    "issued_on",
    "issued_text",
    "title",
    "start_year",
    "end_year",
    "vision_year",
    "signer_name",
    "signer_title",
    "signer_authority",
    "reporting_frequencies",
)
DEFAULT_COMPARATOR = {"higher": ">=", "lower": "<=", "keep": "="}


def plain_lines(text: str) -> list[str]:
    """The seed text as a word processor would hold it: no Markdown marks."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^#+\s*", "", line)
        lines.append(line.replace("**", ""))
    return lines


def as_docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            width = max(len(r) for r in rows)
            table = document.add_table(rows=len(rows), cols=width)
            table.style = "Table Grid"
            for r, cells in enumerate(rows):
                for c, cell in enumerate(cells):
                    table.cell(r, c).text = cell
            rows.clear()

    for line in plain_lines(text):
        if "\t" in line:
            rows.append(line.split("\t"))
            continue
        if line.strip():
            flush()
            document.add_paragraph(line.strip())
    flush()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def as_pdf(text: str) -> bytes:
    from fontpkg_noto_serif import ROOT  # type: ignore[import-untyped]
    from weasyprint import HTML

    font = (ROOT / "files" / "NotoSerif[wdth,wght].ttf").as_uri()
    parts = [
        f"<style>@font-face{{font-family:S;src:url('{font}')}} body{{font-family:S;font-size:12pt}}"
        "p{margin:0 0 6pt 0;text-align:justify} table{border-collapse:collapse}"
        "td{border:0.5pt solid black;padding:2pt}</style>"
    ]
    rows: list[str] = []
    for line in [*plain_lines(text), ""]:
        if "\t" in line:
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line.split("\t")) + "</tr>")
            continue
        if rows:
            parts.append("<table>" + "".join(rows) + "</table>")
            rows = []
        if line.strip():
            parts.append(f"<p>{html.escape(line.strip())}</p>")
    return HTML(string="".join(parts), base_url=str(BASE_DIR)).write_pdf()


# --- comparison -----------------------------------------------------------------------------


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", unicodedata.normalize("NFC", text or "").lower()))


def similarity(a: str, b: str) -> float:
    x, y = words(a), words(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def truth_targets(indicator: dict[str, Any]) -> set[tuple[int, str, Decimal]]:
    from healthplans.vnnumber import parse_figure

    found = set()
    for target in indicator.get("targets") or []:
        read = parse_figure(str(target["text"]))
        comparator = read.comparator or target.get("comparator") or DEFAULT_COMPARATOR[indicator["direction"]]
        found.add((int(target["year"]), comparator, read.value))
    return found


def draft_targets(indicator: dict[str, Any]) -> set[tuple[int, str, Decimal]]:
    return {(int(t["year"]), t["comparator"], Decimal(t["value"])) for t in indicator["targets"]}


def pair_indicators(draft: list[dict], truth: list[dict]) -> list[tuple[int, int]]:
    scores = []
    for i, found in enumerate(draft):
        mine = {(y, v) for y, _c, v in draft_targets(found)}
        for j, wanted in enumerate(truth):
            theirs = {(y, v) for y, _c, v in truth_targets(wanted)}
            overlap = len(mine & theirs) / max(len(theirs), 1)
            score = (
                similarity(found["name"], wanted["name"])
                + overlap
                + (0.3 if found["number"] == wanted["number"] else 0)
            )
            if score >= 0.6:
                scores.append((score, i, j))
    pairs, used_i, used_j = [], set(), set()
    for _score, i, j in sorted(scores, reverse=True):
        if i not in used_i and j not in used_j:
            pairs.append((i, j))
            used_i.add(i)
            used_j.add(j)
    return pairs


def budget_keys(lines: Iterable[tuple[int, int | None]]) -> Counter:
    return Counter(lines)


def truth_budget(lines: list[dict], parent: int | None = None) -> list[tuple[int, int | None]]:
    from healthplans.vnnumber import parse_money

    found = []
    for line in lines:
        amount = parse_money(line["amount_text"])
        found.append((amount, parent))
        found += truth_budget(line.get("children") or [], amount)
    return found


def duty_key(text: str) -> str:
    return " ".join(text.lstrip("-+ ").split())[:60]


def agency_key(name: str) -> str:
    return " ".join(sorted(words(name)))


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def add(self, name: str, right: int, found: int, wanted: int) -> None:
        counts = self.counts.setdefault(name, [0, 0, 0])
        counts[0] += right
        counts[1] += found
        counts[2] += wanted

    def rates(self, name: str) -> tuple[float, float]:
        right, found, wanted = self.counts.get(name, [0, 0, 0])
        return (right / found if found else 1.0, right / wanted if wanted else 1.0)


def compare(draft: dict[str, Any], truth: dict[str, Any], tally: Tally, verbose: bool) -> list[str]:
    misses: list[str] = []
    indicators = truth["indicators"]
    pairs = pair_indicators(draft["indicators"], indicators)
    tally.add("indicators", len(pairs), len(draft["indicators"]), len(indicators))
    paired_draft = {i for i, _j in pairs}
    right_targets = right_baselines = 0
    for i, j in pairs:
        mine, theirs = draft_targets(draft["indicators"][i]), truth_targets(indicators[j])
        right_targets += len(mine & theirs)
        if mine != theirs:
            misses.append(
                f"targets {indicators[j]['number']} {indicators[j]['name'][:40]}: "
                f"read {sorted(mine)} want {sorted(theirs)}"
            )
        base = draft["indicators"][i].get("baseline")
        wanted = indicators[j].get("baseline")
        if base and wanted:
            from healthplans.vnnumber import parse_figure

            right_baselines += int(
                base["year"] == wanted["year"] and Decimal(base["value"]) == parse_figure(str(wanted["text"])).value
            )
    for i, found in enumerate(draft["indicators"]):
        if i not in paired_draft:
            misses.append(f"extra indicator {found['number']} {found['name'][:50]} {sorted(draft_targets(found))}")
    for j in set(range(len(indicators))) - {j for _i, j in pairs}:
        misses.append(f"missed indicator {indicators[j]['number']} {indicators[j]['name'][:50]}")
    tally.add(
        "targets",
        right_targets,
        sum(len(i["targets"]) for i in draft["indicators"]),
        sum(len(truth_targets(i)) for i in indicators),
    )
    tally.add(
        "baselines",
        right_baselines,
        sum(1 for i in draft["indicators"] if i.get("baseline")),
        sum(1 for i in indicators if i.get("baseline")),
    )

    amounts = {line["code"]: line["amount"] for line in draft["budget_lines"]}
    mine_budget = budget_keys((line["amount"], amounts.get(line["parent"])) for line in draft["budget_lines"])
    theirs_budget = budget_keys(truth_budget(truth.get("budget_lines") or []))
    tally.add(
        "budget_lines",
        sum((mine_budget & theirs_budget).values()),
        sum(mine_budget.values()),
        sum(theirs_budget.values()),
    )
    if mine_budget != theirs_budget:
        misses.append(f"budget: read {sorted(mine_budget.elements())} want {sorted(theirs_budget.elements())}")

    names = {a["code"]: a["name"] for a in truth["agencies"]}
    mine_agencies = {agency_key(a["name"]) for a in draft["agencies"]}
    theirs_agencies = {agency_key(a["name"]) for a in truth["agencies"]}
    tally.add("agencies", len(mine_agencies & theirs_agencies), len(mine_agencies), len(theirs_agencies))
    if mine_agencies != theirs_agencies:
        misses.append(
            f"agencies extra {sorted(mine_agencies - theirs_agencies)} missed {sorted(theirs_agencies - mine_agencies)}"
        )
    mine_assign = Counter((agency_key(a["agency"]), a["role"], duty_key(a["text"])) for a in draft["assignments"])
    theirs_assign = Counter(
        (agency_key(names[a["agency"]]), a["role"], duty_key(a["text"])) for a in truth["assignments"]
    )
    tally.add(
        "assignments",
        sum((mine_assign & theirs_assign).values()),
        sum(mine_assign.values()),
        sum(theirs_assign.values()),
    )
    for extra in (mine_assign - theirs_assign).elements():
        misses.append(f"assignment extra {extra}")
    for missed in (theirs_assign - mine_assign).elements():
        misses.append(f"assignment missed {missed}")

    plan = draft["plan"]
    for field in METADATA:
        wanted = truth.get(field)
        found = plan.get(field)
        if field == "issued_on" and wanted is not None:
            wanted = wanted.isoformat()
        if field == "reporting_frequencies":
            found, wanted = sorted(found or []), sorted(wanted or [])
        right = found == wanted
        tally.add("metadata", int(right), 1, 1)
        if not right:
            misses.append(f"metadata {field}: read {found!r} want {wanted!r}")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default=str(BASE_DIR.parent / "shared" / "seeds"))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--json", help="append the result rows to this JSON list")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every difference")
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthplans.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    import logging

    import django
    import yaml

    for noisy in ("weasyprint", "fontTools", "pdfminer"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    django.setup()
    from django.utils import translation

    from healthplans.documents import read_plan

    translation.activate("vi")
    truths = {}
    for path in sorted((BASE_DIR / "fixtures" / "plans").glob("0*.yaml")):
        truth = yaml.safe_load(path.read_text())
        truths[truth["source"]] = truth
    rows: list[dict[str, Any]] = []
    overall = Tally()
    per_format = {fmt: Tally() for fmt in args.formats.split(",")}
    print(
        f"{'document':<28} {'fmt':<5} {'s/doc':>6}  {'ind P/R':>11}  {'tgt P/R':>11}  {'base P/R':>11}  "
        f"{'budget P/R':>11}  {'agency P/R':>11}  {'assign P/R':>11}  {'meta':>6}"
    )
    for name, truth in truths.items():
        text = (Path(args.seeds) / name).read_text()
        for fmt in args.formats.split(","):
            data = text.encode() if fmt == "txt" else as_docx(text) if fmt == "docx" else as_pdf(text)
            started = time.perf_counter()
            draft = read_plan(f"{name}.{fmt}", data)
            seconds = time.perf_counter() - started
            tally = Tally()
            misses = compare(draft, truth, tally, args.verbose)
            for counts in (overall, per_format[fmt]):
                for key, (right, found, wanted) in tally.counts.items():
                    counts.add(key, right, found, wanted)
            cells = {key: tally.rates(key) for key in tally.counts}
            meta_right, meta_all = tally.counts["metadata"][0], tally.counts["metadata"][2]
            print(
                f"{name[:28]:<28} {fmt:<5} {seconds:6.2f}  "
                + "  ".join(
                    f"{cells[k][0]:5.2f}/{cells[k][1]:4.2f}"
                    for k in ("indicators", "targets", "baselines", "budget_lines", "agencies", "assignments")
                )
                + f"  {meta_right:>2}/{meta_all}"
            )
            if args.verbose:
                for miss in misses:
                    print("    " + miss)
            rows.append(
                {
                    "name": f"ingest_{name[:3]}_{fmt}",
                    "scale": "seeds",
                    "p50_ms": round(seconds * 1000, 1),
                    "n": 1,
                    **{f"{k}_precision": round(v[0], 3) for k, v in cells.items()},
                    **{f"{k}_recall": round(v[1], 3) for k, v in cells.items()},
                }
            )
    print()
    documents = list(rows)
    for label, counts in [*per_format.items(), ("all", overall)]:
        print(
            f"{label:<5} " + "  ".join(f"{k} {counts.rates(k)[0]:.2f}/{counts.rates(k)[1]:.2f}" for k in counts.counts)
        )
        # The totals the goals are about, in latest.json beside each document's row.
        timed = [row["p50_ms"] for row in documents if label == "all" or row["name"].endswith(f"_{label}")]
        rows.append(
            {
                "name": f"ingest_{label}",
                "scale": "seeds",
                "p50_ms": round(statistics.median(timed), 1),
                "p95_ms": max(timed),
                "n": len(timed),
                **{f"{k}_precision": round(counts.rates(k)[0], 3) for k in counts.counts},
                **{f"{k}_recall": round(counts.rates(k)[1], 3) for k in counts.counts},
            }
        )
    if args.json:
        path = Path(args.json)
        earlier = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(earlier + rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
