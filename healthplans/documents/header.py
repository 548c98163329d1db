"""A plan's identity from its header and its signature block: issuer and the body above it,
số/ký hiệu, place and date, kind and title, legal bases, signer, Nơi nhận; and its years."""

import re
from datetime import date

from healthplans.documents.draft import Draft, source
from healthplans.documents.extract import Block, Paragraph
from healthplans.documents.outline import bullet, heading

KINDS = {
    "KẾ HOẠCH": "plan",
    "ĐỀ ÁN": "scheme",
    "CHỈ THỊ": "directive",
    "CHIẾN LƯỢC": "strategy",
    "DỰ ÁN": "project",
    "CHƯƠNG TRÌNH": "plan",
}
_KIND = re.compile(rf"^(?P<kind>{'|'.join(KINDS)})\b\s*(?P<rest>.*)$")
_MOTTO = re.compile(r"CỘNG HÒA|CỘNG HOÀ|Độc lập\s*-\s*Tự do", re.IGNORECASE)
_NUMBER = re.compile(r"^Số\s*:?\s*(?P<number>[\w.]*/[\w./-]*[\wĐđ])?\s*(?P<rest>.*)$")
_DATE = re.compile(
    r"(?P<place>[^,;:]{2,60}?),\s*ngày\s*(?P<day>\d{1,2})?\s*tháng\s*(?P<month>\d{1,2})?\s*năm\s*(?P<year>\d{4})"
)
_LEVELS = r"tỉnh|thành phố|huyện|thị xã|thị trấn|quận|xã|phường"
_BODY = r"(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN)"
_NAME = r"(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)(?:\s+[A-ZĐÀ-Ỹ][\wÀ-ỹ]*){0,3}"
_ISSUER_HEADER = re.compile(rf"^(?:{_BODY}|SỞ|BAN|HỘI ĐỒNG|TRUNG TÂM|BỆNH VIỆN|TỈNH ỦY|HUYỆN ỦY)\b", re.IGNORECASE)
_BODY_NAMED = re.compile(rf"{_BODY}\s*(?:\(UBND\)\s*)?(?P<level>{_LEVELS})(?:\s+(?P<name>{_NAME}))?")
_AUTHORITY = re.compile(r"^(?:TM\.|KT\.|Q\.|TL\.|TUQ\.|T/M|K/T)\s*\S", re.IGNORECASE)
_TITLES = re.compile(r"^(?:PHÓ CHỦ TỊCH|CHỦ TỊCH|GIÁM ĐỐC|PHÓ GIÁM ĐỐC|TRƯỞNG BAN|PHÓ TRƯỞNG BAN|BÍ THƯ|PHÓ BÍ THƯ)$")
_PARENT_LEVEL = {
    "thành phố": "tỉnh",
    "huyện": "tỉnh",
    "thị xã": "tỉnh",
    "quận": "thành phố",
    "xã": "huyện",
    "phường": "thành phố",
    "thị trấn": "huyện",
}
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def body_name(text: str) -> str:
    """ "UBND TỈNH LÀO CAI" or "ỦY BAN NHÂN DÂN tỉnh Lào Cai" as "UBND tỉnh Lào Cai"."""
    match = re.match(rf"^{_BODY}\s*(?P<level>{_LEVELS})\s*(?P<name>.*)$", text, re.IGNORECASE)
    if match is None:
        return text if not text.isupper() else text[:1] + text[1:].lower()
    name = " ".join(word.capitalize() for word in match["name"].split())
    return f"UBND {match['level'].lower()} {name}".strip()


def read_header(blocks: list[Block], draft: Draft) -> int:
    """Fill the plan's header fields; answer the index of the first block after the title."""
    plan = draft["plan"]
    sources = plan["sources"]
    issuers: list[Paragraph] = []
    title_at = None
    for index, block in enumerate(blocks[:40]):
        if not isinstance(block, Paragraph):
            continue
        text = block.text
        if _MOTTO.search(text):
            continue
        number = _NUMBER.match(text)
        if number and plan.get("document_number") is None and (number["number"] or "/" in text[:12]):
            plan["document_number"] = number["number"] or None
            sources["document_number"] = source(text, block.where)
            text = number["rest"]
        date_match = _DATE.search(text)
        if date_match and plan.get("issued_text") is None:
            _read_date(date_match, plan)
            sources["issued_text"] = source(block.text, block.where)
            continue
        kind = _KIND.match(text)
        if kind:
            plan["kind"] = KINDS[kind["kind"]]
            title_at = index
            title = kind["rest"]
            if not title:
                title, title_end = _title_after(blocks, index)
            else:
                title_end = index + 1
            plan["title"] = title
            sources["title"] = source(title, block.where)
            break
        if title_at is None and text and text.isupper() and _ISSUER_HEADER.match(text):
            issuers.append(Paragraph(text, block.where))
    if issuers:
        plan["issuer"] = body_name(issuers[-1].text)
        sources["issuer"] = source(issuers[-1].text, issuers[-1].where)
        if len(issuers) > 1:
            plan["issuer_parent"] = body_name(issuers[-2].text)
            sources["issuer_parent"] = source(issuers[-2].text, issuers[-2].where)
    if title_at is None:
        return 0
    return title_end


def _read_date(match: re.Match[str], plan: dict) -> None:
    place = match["place"].strip()
    plan["place"] = place
    plan["issued_text"] = match.group(0).strip()
    if match["day"] and match["month"]:
        try:
            plan["issued_on"] = date(int(match["year"]), int(match["month"]), int(match["day"])).isoformat()
        except ValueError:
            plan["issued_on"] = None
    else:
        plan["issued_on"] = None


def _title_after(blocks: list[Block], index: int) -> tuple[str, int]:
    parts: list[str] = []
    end = index + 1
    for block in blocks[index + 1 : index + 4]:
        if (
            not isinstance(block, Paragraph)
            or heading(block.text)
            or (block.text.startswith(("Căn cứ", "Thực hiện ")) and parts)
        ):
            break
        if parts and not (block.text.isupper() and parts[-1].isupper()):
            break
        parts.append(block.text)
        end += 1
    return " ".join(parts), end


def read_intro(blocks: list[Block], start: int, draft: Draft) -> None:
    """Legal bases ("Căn cứ …", "Thực hiện …") and the issuer named in the opening sentences."""
    plan = draft["plan"]
    for block in blocks[start:]:
        if not isinstance(block, Paragraph) or heading(block.text):
            break
        text = block.text
        lead = re.match(r"^(Căn cứ|Thực hiện|Triển khai)\s+", text)
        if lead:
            body = text[lead.end() :]
            # The bases end where the issuer's own sentence begins ("…, UBND tỉnh ban hành …").
            body = re.split(rf"[,.;]\s*(?={_BODY}|Sở Y tế ban hành)", body)[0]
            body = re.sub(r"\s*\(sau đây gọi (?:tắt )?là[^)]*\)", "", body)
            for part in re.split(r";\s*|\s+và\s+(?=đề nghị|Tờ trình|Quyết định|Kế hoạch|Nghị quyết|Chỉ thị)", body):
                part = part.strip().rstrip(".").strip()
                if len(part) > 8:
                    plan["legal_bases"].append({"text": part, "source": source(text, block.where)})
        if plan.get("issuer") is None:
            _issuer_from(text, block.where, plan)


def _issuer_from(text: str, where: str, plan: dict) -> None:
    for match in _BODY_NAMED.finditer(text):
        # The issuer is the body that "ban hành"/"xây dựng" this plan, not one cited as a basis.
        if not re.match(r"\s*(?:ban hành|xây dựng)", text[match.end() : match.end() + 20]):
            continue
        name = match["name"]
        if name is None:
            name = re.sub(
                r"^(?:TP\.|Thành phố|Tp\.|Thị xã|Thị trấn|Huyện|Tỉnh)\s*", "", plan.get("place") or ""
            ).strip()
        if name:
            plan["issuer"] = f"UBND {match['level']} {name}"
            plan["sources"]["issuer"] = source(text, where)
            return


def read_issuer_fallbacks(blocks: list[Block], draft: Draft) -> None:
    """An issuer not in the header nor the opening: the appendix's "(Kèm theo Kế hoạch số … của
    UBND tỉnh …)"; the body above it: the first body of the next level up the document names."""
    plan = draft["plan"]
    paragraphs = [b for b in blocks if isinstance(b, Paragraph)]
    if plan.get("issuer") is None:
        for block in paragraphs:
            match = re.search(
                rf"Kèm theo .*?số\s*(?P<number>[\w.]*/[\w./-]*[\wĐ])?"
                rf".*?của\s+(?P<body>{_BODY}\s*(?:{_LEVELS})\s+{_NAME})",
                block.text,
            )
            if match:
                plan["issuer"] = body_name(match["body"])
                plan["sources"]["issuer"] = source(block.text, block.where)
                if plan.get("document_number") is None and match["number"]:
                    plan["document_number"] = match["number"]
                    plan["sources"]["document_number"] = source(block.text, block.where)
                break
    issuer = plan.get("issuer") or ""
    level = re.match(rf"UBND ({_LEVELS}) (.*)$", issuer)
    if plan.get("issuer_parent") is None and level and level[1] in _PARENT_LEVEL:
        wanted = _PARENT_LEVEL[level[1]]
        for block in paragraphs:
            for match in _BODY_NAMED.finditer(block.text):
                if match["level"] == wanted and match["name"]:
                    plan["issuer_parent"] = f"UBND {wanted} {match['name']}"
                    plan["sources"]["issuer_parent"] = source(block.text, block.where)
                    return


def read_signature(blocks: list[Block], draft: Draft) -> None:
    """Nơi nhận (its lines), the authority ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"), the title and
    the signer's name — the block after the last section, before any appendix."""
    plan = draft["plan"]
    paragraphs = [b for b in blocks if isinstance(b, Paragraph)]
    start = next((i for i, b in enumerate(paragraphs) if re.match(r"^Nơi nhận\s*:?", b.text)), None)
    authority: list[Paragraph] = []
    search_from = start if start is not None else max(len(paragraphs) - 12, 0)
    if start is not None:
        for block in paragraphs[start + 1 :]:
            line = bullet(block.text)
            if line is None:
                if block.text.endswith(":") and len(block.text) < 40:
                    continue  # "Gửi bản điện tử:"
                break
            plan["recipients"].append({"text": line, "source": source(block.text, block.where)})
    for index in range(search_from, len(paragraphs)):
        block = paragraphs[index]
        if _AUTHORITY.match(block.text):
            authority.append(block)
            continue
        if authority and _TITLES.match(block.text.upper()) and block.text.isupper():
            plan["signer_authority"] = "\n".join(a.text for a in authority)
            plan["signer_title"] = block.text
            plan["sources"]["signer_title"] = source(block.text, block.where)
            name = next((b for b in paragraphs[index + 1 : index + 4] if _is_name(b.text)), None)
            if name:
                plan["signer_name"] = name.text
                plan["sources"]["signer_name"] = source(name.text, name.where)
            return
        if authority and _TITLES.match(block.text):
            continue
        if authority:
            # "KT. CHỦ TỊCH" then the name with no title line: the authority's last word is the title.
            authority = []


def _is_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 5 and all(w[:1].isupper() for w in words) and not text.isupper()


def read_years(blocks: list[Block], draft: Draft) -> None:
    """Start, end and vision years: the title's "năm 2024" or "giai đoạn 2025-2030" or "đến năm
    2030" (from the year of issue), "tầm nhìn đến năm 2045"; else the years of the targets."""
    plan = draft["plan"]
    title = plan.get("title") or ""
    vision = re.search(r"tầm nhìn (?:đến )?năm (\d{4})", title, re.IGNORECASE)
    plan["vision_year"] = int(vision[1]) if vision else None
    target_years = sorted({t["year"] for i in draft["indicators"] for t in i["targets"]} - {plan["vision_year"]})
    baseline_years = [i["baseline"]["year"] for i in draft["indicators"] if i.get("baseline")]
    issued = int(plan["issued_text"][-4:]) if plan.get("issued_text") else None
    single = re.search(r"năm\s*(\d{4})\s*\W*$", title)
    span = re.search(r"(?:giai đoạn|từ năm)\s*(\d{4})\s*[-–]\s*(\d{4})", title, re.IGNORECASE)
    until = re.search(r"đến năm\s*(\d{4})", title, re.IGNORECASE)
    start: int | None
    if single:
        start = end = int(single[1])
    elif span:
        start, end = int(span[1]), int(span[2])
    elif until:
        end = int(until[1])
        start = issued or min([*target_years, *baseline_years, end])
    elif target_years:
        start, end = min([*target_years, *baseline_years]), max(target_years)
    else:
        start = end = issued  # type: ignore[assignment]
    plan["start_year"], plan["end_year"] = start, end


def read_frequencies(blocks: list[Block], draft: Draft) -> None:
    """How often the plan reports: "6 tháng/lần", "định kỳ hằng năm", "5 năm"."""
    found: list[str] = []
    for block in blocks:
        if not isinstance(block, Paragraph):
            continue
        for sentence in re.split(r"[.;]\s", block.text.lower()):
            for pattern, kind in (
                (r"(?:6|06|sáu) tháng", "half_year"),
                (r"hằng năm|hàng năm|mỗi năm|định kỳ năm", "year"),
                (r"\b0?5 năm\b", "five_year"),
            ):
                # Only a frequency said of reporting or review counts: "kế hoạch … hằng năm" does not.
                near = (
                    rf"(?:báo cáo|sơ kết|tổng kết|kiểm tra|giám sát)[^;]{{0,60}}(?:{pattern})"
                    rf"|(?:{pattern})[^;]{{0,40}}(?:báo cáo|sơ kết|tổng kết)"
                )
                if re.search(near, sentence) and kind not in found:
                    found.append(kind)
    draft["plan"]["reporting_frequencies"] = found
