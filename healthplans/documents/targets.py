"""Indicators with their baselines and targets: from tables (a column per year, a "thực hiện"
column for the baseline; also tables flattened to one cell per line, as PDFs copied to text give
them) and from the prose of the specific objectives ("Tỷ lệ … đạt trên 95%", "còn dưới 9,98%",
"Đạt 45 giường bệnh; 14,5 bác sỹ và 3,5 dược sỹ đại học/vạn dân")."""

import re
from typing import Any

from healthplans.documents.draft import Source, source
from healthplans.documents.extract import Cell, Paragraph, Table
from healthplans.vnnumber import NumberTextError, parse_figure

_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_BASELINE_WORDS = re.compile(r"thực hiện|ước|hiện trạng|năm gốc|cơ sở|đạt được|kết quả|hiện nay", re.IGNORECASE)
_NAME_WORDS = re.compile(r"chỉ tiêu|chỉ số|nội dung|tên|danh mục", re.IGNORECASE)
_UNIT_WORDS = re.compile(r"đơn vị|đvt", re.IGNORECASE)
_NUMBER_WORDS = re.compile(r"^(?:s?tt|số tt|số thứ tự)$", re.IGNORECASE)
_GROUPS = {"đầu vào": "input", "hoạt động": "activity", "đầu ra": "output", "kết quả": "output", "tác động": "output"}
_PER = re.compile(r"\s*/\s*((?:vạn|nghìn|ngàn|triệu|\d[\d.]*)\b[^/()]*?)\s*(\([^()]*\))?\s*$")
_TRAILING_UNIT = re.compile(r"\s*\(([^()]*)\)\s*$")


# Which way an indicator should move, from the words that name it: what the health sector wants
# fewer of (deaths, malnutrition, poisoning, infection, the sex ratio's imbalance, population
# growth) falls; a population's size or a steady rate is kept; anything else rises.
_FALLING = re.compile(
    r"tử vong|chết|suy dinh dưỡng|SDD|thấp còi|nhẹ cân|ngộ độc|(?<!không lây )nhiễm|mắc mới|tăng dân số|"
    r"tai biến|tảo hôn|"
    r"chuyển tuyến|tai nạn|béo phì|hút thuốc|tỷ suất sinh|tỷ số giới tính|mất cân bằng|sinh con thứ",
    re.IGNORECASE,
)
_KEPT = re.compile(r"quy mô dân số|mức giảm tỷ lệ sinh|mức sinh thay thế", re.IGNORECASE)
DEFAULT_COMPARATOR = {"higher": ">=", "lower": "<=", "keep": "="}


def direction(name: str) -> str:
    return "keep" if _KEPT.search(name) else "lower" if _FALLING.search(name) else "higher"


def settle_comparators(indicators: list[dict[str, Any]]) -> None:
    """Each indicator's direction — the way its stated comparators point ("<", "≤", "còn dưới":
    lower is better), else its name's —, and a target that states no comparator takes the
    direction's (the seed loader's rule): "95" of a rising rate is "≥ 95"."""
    for indicator in indicators:
        stated = {target["comparator"] for target in indicator["targets"] if target["comparator"]}
        falls, rises = bool(stated & {"<", "<="}), bool(stated & {">", ">="})
        indicator["direction"] = (
            "lower" if falls > rises else "higher" if rises > falls else direction(indicator["name"])
        )
        for target in indicator["targets"]:
            if target["comparator"] is None:
                target["comparator"] = DEFAULT_COMPARATOR[indicator["direction"]]


def figure(text: str) -> dict[str, Any] | None:
    try:
        read = parse_figure(text)
    except NumberTextError:
        return None
    return {"comparator": read.comparator, "value": str(read.value), "text": text}


def split_unit(name: str) -> tuple[str, str]:
    """ "Số bác sĩ/vạn dân" → ("Số bác sĩ", "/vạn dân"); "Tuổi thọ trung bình (tuổi)" → (…, "tuổi")."""
    per = _PER.search(name)
    if per and per.start() > 0:
        unit = "/" + per[1].strip() + (f" {per[2]}" if per[2] else "")
        return name[: per.start()].strip(), unit
    trailing = _TRAILING_UNIT.search(name)
    if trailing and trailing.start() > 0 and len(trailing[1]) <= 30:
        return name[: trailing.start()].strip(), trailing[1].strip()
    return name.strip(), ""


# --- tables ---------------------------------------------------------------------------------


def table_indicators(table: Table, carried: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str] | None]:
    """A table's indicators, and its headings for a table that continues it (a table broken by a
    page or a blank line goes on without repeating its heading row)."""
    rows = table.rows
    header_end = next((i for i, row in enumerate(rows) if _is_data_row(row)), None)
    if header_end is None:
        return [], None
    width = max(len(row) for row in rows)
    # A row with one cell filled just before the data is a group's label, not a heading.
    heading_rows = [row for row in rows[:header_end] if sum(1 for c in row if c.text) > 1]
    labels = rows[len(heading_rows) : header_end]
    if heading_rows:
        headings = [" ".join(row[c].text for row in heading_rows if c < len(row)).strip() for c in range(width)]
    elif carried is not None and len(carried) == width:
        headings = carried
    else:
        return [], None
    body = [[(c.text, c.where) for c in row] for row in [*labels, *rows[header_end:]]]
    return read_rows(headings, body), headings


def _is_data_row(row: list[Cell]) -> bool:
    values = [c.text for c in row[1:] if c.text]
    return len(values) >= 2 and any(figure(v) and not _YEAR.fullmatch(v) for v in values)


def read_rows(headings: list[str], rows: list[list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """Indicators from a table's body, its columns known by their headings."""
    years: dict[int, tuple[int, bool]] = {}  # column → (year, is the baseline)
    number_col = name_col = unit_col = None
    for column, text in enumerate(headings):
        stated = _YEAR.findall(text)
        if stated:
            years[column] = (int(stated[-1]), bool(_BASELINE_WORDS.search(text)))
        elif _NUMBER_WORDS.match(text.strip()):
            number_col = column
        elif _UNIT_WORDS.search(text):
            unit_col = column
        elif name_col is None and (_NAME_WORDS.search(text) or text):
            name_col = column
    if not years:
        return []
    # The name column is the one whose cells are words: headings vary too much to trust.
    wordy = [
        sum(1 for row in rows if c < len(row) and row[c][0] and not figure(row[c][0])) for c in range(len(headings))
    ]
    candidates = [c for c in range(len(headings)) if c not in years and c != unit_col and c != number_col]
    if candidates:
        name_col = max(candidates, key=lambda c: (wordy[c], -c))
    if name_col is None:
        return []
    if number_col is None and name_col > 0:
        number_col = name_col - 1
    indicators: list[dict[str, Any]] = []
    group = None
    for row in rows:
        texts = [t for t, _w in row]
        filled = [t for t in texts if t]
        if len(filled) == 1 and not figure(filled[0]):
            label = filled[0].lower()
            group = next((g for word, g in _GROUPS.items() if word in label), None)
            continue
        name = texts[name_col] if name_col < len(texts) else ""
        if not name or figure(name):
            continue
        unit = texts[unit_col] if unit_col is not None and unit_col < len(texts) else None
        if unit is None:
            name, unit = split_unit(name)
        row_source = source(" | ".join(filled), row[name_col][1])
        indicator: dict[str, Any] = {
            "number": texts[number_col] if number_col is not None and number_col < len(texts) else "",
            "name": name,
            "unit": unit,
            "group": group,
            "baseline": None,
            "targets": [],
            "source": row_source,
        }
        for column, (year, is_baseline) in years.items():
            if column >= len(row) or not row[column][0]:
                continue
            read = figure(row[column][0])
            if read is None:
                continue
            item = {"year": year, **read, "source": source(row[column][0], row[column][1])}
            if is_baseline:
                indicator["baseline"] = item
            else:
                indicator["targets"].append(item)
        if indicator["targets"] or indicator["baseline"]:
            indicators.append(indicator)
    return indicators


def flattened_tables(paragraphs: list[Paragraph]) -> list[dict[str, Any]]:
    """Tables that came through as one cell per line: "TT", "Chỉ số …", "Đơn vị tính", "Năm",
    "2025" … "2030", then each row's cells in turn."""
    found: list[dict[str, Any]] = []
    index = 0
    while index < len(paragraphs):
        if not _NUMBER_WORDS.match(paragraphs[index].text):
            index += 1
            continue
        headings: list[str] = []
        cursor = index
        while cursor < len(paragraphs) and len(headings) < 20:
            text = paragraphs[cursor].text
            if headings and re.fullmatch(r"\d{1,3}", text) and any(_YEAR.fullmatch(h) for h in headings):
                break
            headings.append(text)
            cursor += 1
        # A spanning label over the years ("Năm", "Giai đoạn") is no column of its own.
        headings = [
            h
            for i, h in enumerate(headings)
            if not (
                not _YEAR.search(h)
                and i + 1 < len(headings)
                and _YEAR.fullmatch(headings[i + 1])
                and len(h.split()) <= 3
                and not _UNIT_WORDS.search(h)
                and i > 1
            )
        ]
        width = len(headings)
        rows: list[list[tuple[str, str]]] = []
        while cursor + width <= len(paragraphs) and re.fullmatch(r"\d{1,3}", paragraphs[cursor].text):
            cells = [(p.text, p.where) for p in paragraphs[cursor : cursor + width]]
            if sum(1 for t, _w in cells[1:] if figure(t)) < 1:
                break
            rows.append(cells)
            cursor += width
        if rows:
            found.extend(read_rows(headings, rows))
            index = cursor
        else:
            index += 1
    return found


# --- prose ----------------------------------------------------------------------------------

_CLAUSES = re.compile(r";\s*|\.\s+(?=[A-ZĐÀ-Ỹ])|\s+và\s+(?=\d)|,\s+(?=(?:[Tt]ỷ lệ|[Tt]ỷ số|[Tt]ỷ suất|[Ss]ố ca)\b)")
_NUMBER_START = re.compile(r"(?<![\w,./])\d")
_LEAD = re.compile(
    r"(?:(?:đạt|còn|là|giảm|tăng|duy trì)\s+)?"
    r"(?:(?:tối thiểu|ít nhất|không dưới|không quá|tối đa|trên|dưới|[≥≤><=])\s*)?$",
    re.IGNORECASE,
)
_YEAR_IN = re.compile(r"(?:vào |đến |trong |)năm (\d{4})")
_VERB_TAIL = re.compile(r"[\s:,]*(?:\b(?:đạt|còn|là|có|phấn đấu|dự kiến|giảm|duy trì)\b[\s:,]*)*$", re.IGNORECASE)


def clause_figure(clause: str) -> tuple[int, dict[str, Any]] | None:
    """The target a clause states, and where it starts: the leftmost number whose text to the end
    reads as a figure; else the rightmost that reads with its unit cut short."""
    starts = [m.start() for m in _NUMBER_START.finditer(clause)]
    for start in starts:
        begin = start - len(_LEAD.search(clause[:start])[0])  # type: ignore[index]
        tail = clause[begin:].strip().rstrip(".")
        read = figure(tail)
        if read:
            return begin, read
    for start in reversed(starts):
        begin = start - len(_LEAD.search(clause[:start])[0])  # type: ignore[index]
        words = clause[begin:].split(" ")
        for cut in range(len(words), 0, -1):
            tail = " ".join(words[:cut]).strip().rstrip(".,:")
            read = figure(tail)
            if read:
                return begin, read
    return None


def prose_indicators(items: list[Paragraph], prefix: str, year: int | None) -> list[dict[str, Any]]:
    """Indicators stated in sentences, numbered "<prefix>.1", "<prefix>.2" … in order."""
    found: list[dict[str, Any]] = []
    for item in items:
        previous_name = ""
        for clause in _CLAUSES.split(item.text):
            clause = clause.strip().rstrip(".")
            if not clause:
                continue
            said_year = _YEAR_IN.findall(clause)
            text = _YEAR_IN.sub("", clause).strip().rstrip(",. ")
            located = clause_figure(text)
            if located is None:
                continue
            begin, read = located
            name = _VERB_TAIL.sub("", text[:begin]).strip(" :,-")
            unit_text = text[begin + len(read["text"]) :].strip()
            unit = parse_figure(read["text"]).unit
            if not name and (unit_text or unit):
                # The measure written after its number ("11 Bác sĩ/vạn dân"): the name, its rate the unit.
                name, per = split_unit(unit_text or unit or "")
                unit = per or unit
            if not name:
                name = previous_name
            if not name:
                continue
            previous_name = name
            when = int(said_year[0]) if said_year else year
            if when is None:
                continue
            where: Source = source(item.text, item.where)
            found.append(
                {
                    "number": f"{prefix}.{len(found) + 1}",
                    "name": name,
                    "unit": unit,
                    "group": None,
                    "baseline": None,
                    "targets": [{"year": when, **read, "source": where}],
                    "source": where,
                }
            )
    return found
