"""The body of a plan: objectives, numbered sections with their tasks and amounts, the budget
with its tree and funding sources, and the agencies with their assignments from "Tổ chức thực
hiện" (chủ trì: lead; phối hợp: coordinate)."""

import re
from typing import Any

from healthplans.documents.draft import Draft, source
from healthplans.documents.extract import Paragraph
from healthplans.documents.outline import Node, bullet, find, items_text
from healthplans.vnnumber import NumberTextError, parse_money

_MONEY = re.compile(
    r"(?P<value>\d{1,3}(?:\.\d{3})+|\d+(?:,\d+)?)\s*(?P<scale>tỷ|tỉ|triệu|nghìn|ngàn)?\s*(?P<unit>đồng|VNĐ|vnđ|VND|đ)\b"
    r"|(?P<value2>\d+(?:,\d+)?)\s*(?P<scale2>tỷ|tỉ|triệu)\b"
)
_AGENCY_START = (
    r"Sở|Phòng|Ban|Trung tâm|Bệnh viện|UBND|Ủy ban|Uỷ ban|Công an|Bộ|Bảo hiểm|Văn phòng|Hội|Đoàn|Đài|"
    r"Báo|Trạm|Kho bạc|Chi cục|Liên đoàn|Mặt trận|Các|Trường|Cục|Phòng khám|Thành đoàn|Huyện đoàn"
)
_AGENCY = re.compile(rf"^(?:{_AGENCY_START})\b")
_FUNDING_KINDS = (
    (r"chương trình mục tiêu|mục tiêu quốc gia", "target_programme"),
    (r"vay|ODA|ngân hàng thế giới|World Bank|WB\b|ADB", "oda_loan"),
    (r"viện trợ|tài trợ", "aid"),
    (r"ngân sách|vốn đầu tư công|NSNN", "state_budget"),
    (r"hợp pháp khác|xã hội hóa|nguồn khác|huy động", "other"),
)


def money(text: str) -> tuple[str, int] | None:
    """The first amount of đồng a text states, as written and read."""
    for match in _MONEY.finditer(text):
        written = match.group(0)
        try:
            return written, parse_money(written)
        except NumberTextError:
            continue
    return None


def funding_kind(text: str) -> str | None:
    return next((kind for pattern, kind in _FUNDING_KINDS if re.search(pattern, text, re.IGNORECASE)), None)


def read_objectives(root: Node, draft: Draft) -> None:
    part = find(root, "MỤC ĐÍCH", "YÊU CẦU", "MỤC TIÊU")
    if part is None:
        return
    parts = [part] + [
        n for n in root.children if n is not part and n.level == part.level and "MỤC TIÊU" in n.title.upper()
    ]
    for node in parts:
        for sub in node.walk():
            title = sub.title.lower()
            kind = (
                "requirement"
                if "yêu cầu" in title
                else "purpose"
                if "mục đích" in title
                else "specific"
                if "cụ thể" in title
                else "general"
                if "mục tiêu" in title
                else None
            )
            if kind is None and sub is not node:
                continue
            for item in items_text(sub):
                draft["objectives"].append(
                    {"kind": kind or "purpose", "text": item.text, "source": source(item.text, item.where)}
                )


def read_sections(root: Node, draft: Draft) -> None:
    part = find(root, "NHIỆM VỤ", "GIẢI PHÁP")
    if part is None:
        return

    def section(node: Node) -> dict[str, Any]:
        tasks = []
        for item in items_text(node):
            found = money(item.text)
            tasks.append(
                {
                    "text": item.text,
                    "amount_text": found[0] if found else None,
                    "amount": found[1] if found else None,
                    "source": source(item.text, item.where),
                }
            )
        return {
            "number": node.number,
            "title": node.title,
            "source": source(node.text, node.where),
            "tasks": tasks,
            "sections": [section(child) for child in node.children],
        }

    draft["sections"] = [section(child) for child in part.children]


def read_budget(root: Node, draft: Draft, year: int | None) -> None:
    part = find(root, "KINH PHÍ", "NGUỒN LỰC", "DỰ TOÁN", "TÀI CHÍNH THỰC HIỆN")
    if part is None:
        return
    for node in part.walk():
        if "nguồn" in node.title.lower() and money(node.text) is None:
            for item in items_text(node):
                draft["funding_sources"].append(
                    {
                        "text": item.text.rstrip(".;"),
                        "kind": funding_kind(item.text),
                        "source": source(item.text, item.where),
                    }
                )
    if not draft["funding_sources"]:
        for item in items_text(part):
            if "nguồn" in item.text.lower() or "ngân sách" in item.text.lower():
                kinds = [(p, k) for p, k in _FUNDING_KINDS if re.search(p, item.text, re.IGNORECASE)]
                for _pattern, kind in kinds:
                    draft["funding_sources"].append(
                        {"text": item.text, "kind": kind, "source": source(item.text, item.where)}
                    )
    lines: list[dict[str, Any]] = []

    def line(
        code: str, parent: str | None, name: str, found: tuple[str, int], agency: str | None, item: Paragraph
    ) -> None:
        lines.append(
            {
                "code": code,
                "parent": parent,
                "name": name,
                "year": year,
                "amount_text": found[0],
                "amount": found[1],
                "agency": agency,
                "funding_source": funding_kind(name) if funding_kind(name) == "target_programme" else None,
                "source": source(item.text, item.where),
            }
        )

    def visit(node: Node, parent: str | None, agency: str | None) -> None:
        own = money(node.text)
        code = node.number
        name = node.title
        if _AGENCY.match(name):
            agency = name
        if own:
            line(code, parent, name, own, agency, Paragraph(node.text, node.where))
            parent = code
        children = 0
        for item in node.items:
            text = bullet(item.text) or item.text
            found = money(text)
            if found is None:
                continue
            label = re.split(r"\s*:\s*|\s+\d", text, maxsplit=1)[0].strip(" *.-")
            if re.match(r"^Tổng", label) and not own:
                # "Tổng nhu cầu kinh phí: …" under "2. Dự kiến nhu cầu …" is the heading's own total.
                line(code, parent, label, found, agency, item)
                parent = code
                own = found
                continue
            children += 1
            line(f"{code}.{children}", parent, label, found, agency, item)
        for child in node.children:
            visit(child, parent, agency)

    for child in part.children:
        visit(child, None, None)
    draft["budget_lines"] = lines


def agency_names(title: str) -> list[str]:
    """ "Phòng Tài nguyên và Môi trường, Phòng QLĐT, Ban QLDA …" names three agencies."""
    title = re.sub(r"^Đề nghị\s+", "", title).strip().rstrip(":.")
    parts = re.split(r"\s*[,;]\s*", title)
    if len(parts) > 1 and all(_AGENCY.match(p) for p in parts):
        return parts
    return [title]


_CLOSING = re.compile(r"^(?:Trên đây là|Trong quá trình (?:thực hiện|triển khai)|Yêu cầu các)", re.IGNORECASE)
_COORDINATES = re.compile(r"^(?:(?:Tích cực|Chủ động|Tăng cường|Thường xuyên)\s+)?phối hợp", re.IGNORECASE)


def read_assignments(root: Node, draft: Draft) -> None:
    part = find(root, "TỔ CHỨC THỰC HIỆN", "TRÁCH NHIỆM", "PHÂN CÔNG")
    if part is None:
        return
    known: dict[str, None] = {}
    for position, node in enumerate(part.children):
        names = agency_names(node.title)
        requested = node.title.startswith("Đề nghị")
        duties = [d for d in items_text(node) if not _CLOSING.match(d.text)]
        for index, duty in enumerate(duties, start=1):
            number = node.number if len(duties) == 1 else f"{node.number}.{index}"
            # "Chủ trì" leads and "phối hợp" coordinates; a duty that says neither is led by the
            # plan's first-named (responsible) agency and supported by the others.
            first_sentence = re.split(r"[.;]", duty.text)[0]
            if re.search(r"chủ trì", first_sentence, re.IGNORECASE):
                role = "lead"
            elif requested or _COORDINATES.match(duty.text):
                role = "coordinate"
            else:
                role = "lead" if position == 0 else "coordinate"
            for name in names:
                draft["assignments"].append(
                    {
                        "number": number,
                        "agency": name,
                        "role": role,
                        "text": duty.text,
                        "source": source(duty.text, duty.where),
                    }
                )
        for name in names:
            if name not in known:
                known[name] = None
                draft["agencies"].append({"name": name, "source": source(node.text, node.where)})
    for budget_line in draft["budget_lines"]:
        if budget_line["agency"] and budget_line["agency"] not in known:
            known[budget_line["agency"]] = None
            draft["agencies"].append({"name": budget_line["agency"], "source": budget_line["source"]})
