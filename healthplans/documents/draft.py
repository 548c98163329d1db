"""The draft a plan document is read into: plain JSON-ready data, so that it can be stored, shown
on the review page, corrected by the planner, checked by the plan quality checks and handed to the
builder's services without any class of ours.

Every item carries ``source``: ``{"text": <the document's words it was read from>, "where":
<"đoạn 12" | "bảng 1, hàng 3, ô 2" | "trang 2, đoạn 5">}``. Numbers are kept as written
(``text``, ``amount_text``) beside what the one parser (healthplans.vnnumber) read from them:
``value`` a Decimal written as a string ("94.15"), ``amount`` whole đồng, ``comparator`` one of
">", ">=", "<", "<=", "=" or null when the words state none.

    {
      "plan": {"kind", "document_number", "issuer", "issuer_parent", "place", "issued_on" (ISO or
               null), "issued_text", "title", "start_year", "end_year", "vision_year",
               "signer_name", "signer_title", "signer_authority", "reporting_frequencies",
               "legal_bases": [{"text", "source"}], "recipients": [{"text", "source"}],
               "sources": {field: source}},
      "objectives": [{"kind": purpose|requirement|general|specific, "text", "source"}],
      "sections": [{"number", "title", "source", "tasks": [{"text", "amount_text", "amount",
                    "source"}], "sections": [...]}],
      "indicators": [{"number", "name", "unit", "group", "source",
                      "baseline": null | {"year", "comparator", "value", "text", "source"},
                      "targets": [{"year", "comparator", "value", "text", "source"}]}],
      "funding_sources": [{"text", "kind", "source"}],
      "budget_lines": [{"code", "parent" (a code or null), "name", "year", "amount_text",
                        "amount", "agency" (a name or null), "funding_source", "source"}],
      "agencies": [{"name", "source"}],
      "assignments": [{"number", "agency" (a name), "role": lead|coordinate, "text", "source"}],
    }
"""

from typing import Any, TypedDict


class Source(TypedDict):
    text: str
    where: str


def source(text: str, where: str) -> Source:
    return {"text": text, "where": where}


Draft = dict[str, Any]


def empty_draft() -> Draft:
    return {
        "plan": {"legal_bases": [], "recipients": [], "sources": {}, "reporting_frequencies": []},
        "objectives": [],
        "sections": [],
        "indicators": [],
        "funding_sources": [],
        "budget_lines": [],
        "agencies": [],
        "assignments": [],
    }
