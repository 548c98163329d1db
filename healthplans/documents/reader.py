"""The steps of reading a plan, in the order a reader of the genre takes them."""

import re
from collections.abc import Callable

from healthplans.documents import body, header
from healthplans.documents.draft import Draft, empty_draft
from healthplans.documents.extract import Paragraph, Table, extract
from healthplans.documents.outline import Node, items_text, outline
from healthplans.documents.targets import flattened_tables, prose_indicators, settle_comparators, table_indicators

Progress = Callable[[int], None]

_TARGET_HEADINGS = re.compile(r"mục tiêu cụ thể|chỉ tiêu", re.IGNORECASE)
# A sentence of a section on other things that lists targets after announcing them ("bảo đảm đạt
# được các chỉ tiêu cơ bản: có 11 Bác sĩ/vạn dân; 04 Dược sĩ/vạn dân").
_TARGETS_LISTED = re.compile(r"\bchỉ tiêu\b[^:;.]*:\s*", re.IGNORECASE)
_YEAR = re.compile(r"\b(20\d\d|19\d\d)\b")


def _no_progress(percent: int) -> None:
    return None


def read_plan(name: str, data: bytes, progress: Progress = _no_progress) -> Draft:
    blocks = extract(name, data)
    progress(40)
    draft = empty_draft()
    after_title = header.read_header(blocks, draft)
    header.read_intro(blocks, after_title, draft)
    header.read_signature(blocks, draft)
    header.read_issuer_fallbacks(blocks, draft)
    header.read_years(blocks, draft)
    header.read_frequencies(blocks, draft)
    root = outline(blocks[after_title : _signature_start(blocks)])
    progress(60)
    _read_indicators(blocks, root, draft)
    settle_comparators(draft["indicators"])
    header.read_years(blocks, draft)
    body.read_objectives(root, draft)
    body.read_sections(root, draft)
    body.read_budget(
        root, draft, draft["plan"]["start_year"] if draft["plan"]["start_year"] == draft["plan"]["end_year"] else None
    )
    body.read_assignments(root, draft)
    progress(90)
    return draft


def _signature_start(blocks: list) -> int:
    """Where the body ends: "Nơi nhận", or else the signer's authority line."""
    for index, block in enumerate(blocks):
        if isinstance(block, Paragraph) and re.match(r"^(?:Nơi nhận|TM\.|KT\.)", block.text):
            return index
    return len(blocks)


def _read_indicators(blocks: list, root: Node, draft: Draft) -> None:
    indicators = draft["indicators"]
    carried: list[str] | None = None
    for block in blocks:
        if isinstance(block, Table):
            found, carried = table_indicators(block, carried)
            indicators.extend(found)
    indicators.extend(flattened_tables([b for b in blocks if isinstance(b, Paragraph)]))
    # A target said without its year is the plan's end's, which a table of targets tells where the
    # title does not ("Kế hoạch đến năm 2030" columns).
    header.read_years(blocks, draft)
    default_year = draft["plan"]["end_year"]
    for node, path in _with_paths(root, []):
        if node.tables:
            continue
        years = _YEAR.findall(node.title)
        year = int(years[0]) if years else default_year
        items = items_text(node)
        if not _TARGET_HEADINGS.search(node.title):
            listed = [(item, _TARGETS_LISTED.search(item.text)) for item in items]
            items = [Paragraph(item.text[found.end() :], item.where) for item, found in listed if found]
        indicators.extend(prose_indicators(items, ".".join(path), year))


def _with_paths(node: Node, path: list[str]) -> list[tuple[Node, list[str]]]:
    found = []
    for child in node.children:
        child_path = [*path, child.number]
        found.append((child, child_path))
        found.extend(_with_paths(child, child_path))
    return found
