"""The numbered outline of a plan: "I." parts, "1." sections, "1.1" sub-sections, "a)" points,
and the "-", "+", "*" bullets under them, as Vietnamese administrative documents number them
(Nghị định 30/2020/NĐ-CP, Phụ lục I)."""

import re
from dataclasses import dataclass, field

from healthplans.documents.extract import Block, Paragraph, Table

_ROMAN = re.compile(r"^(?:PHẦN|Phần)?\s*(?P<number>[IVXLC]+)\s*[.:-]\s*(?P<title>.+)$")
_PART = re.compile(r"^(?:PHẦN|Phần)\s+(?P<number>\d+|[IVXLC]+|THỨ \w+)\s*[.:-]?\s*(?P<title>.*)$")
_ARABIC = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,2}){0,3})(?:\.|\s)\s*(?P<title>\S.*)$")
_LETTER = re.compile(r"^(?P<number>[a-zđ])\)\s*(?P<title>.+)$")
_BULLET = re.compile(r"^(?:[-+•–*]|\d+\))\s*(?P<text>.+)$")
# A number followed by a unit is a figure opening a sentence ("1.021 người"), not a heading.
_FIGURE_START = re.compile(r"^\d+(?:[.,]\d+)*\s*(?:%|‰|người|ca|trẻ|tỷ|triệu|đồng)")


@dataclass
class Node:
    level: int
    number: str
    title: str
    where: str
    rest: str = ""  # what follows "Heading:" on the same line
    items: list[Paragraph] = field(default_factory=list)  # bullets and plain paragraphs in order
    tables: list[Table] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.number}. {self.title}" + (f": {self.rest}" if self.rest else "")

    def walk(self) -> "list[Node]":
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


def heading(text: str) -> tuple[int, str, str, str] | None:
    """(level, number, title, rest) of a heading line, or None."""
    if _FIGURE_START.match(text):
        return None
    for level, pattern in ((0, _PART), (1, _ROMAN), (2, _ARABIC), (5, _LETTER)):
        match = pattern.match(text)
        if match is None:
            continue
        number, title = match["number"], match["title"].strip()
        if level == 1 and len(number) > 4:
            continue
        if level == 2:
            level += number.count(".")
        title, _colon, rest = title.partition(":") if ":" in title[:160] else (title, "", "")
        return level, number, title.strip(), rest.strip()
    return None


def bullet(text: str) -> str | None:
    match = _BULLET.match(text)
    return match["text"].strip() if match else None


def outline(blocks: list[Block]) -> Node:
    root = Node(-1, "", "", "")
    stack = [root]
    for block in blocks:
        if isinstance(block, Table):
            stack[-1].tables.append(block)
            continue
        found = heading(block.text)
        if found is None:
            stack[-1].items.append(block)
            continue
        level, number, title, rest = found
        while stack[-1].level >= level:
            stack.pop()
        node = Node(level, number, title, block.where, rest)
        stack[-1].children.append(node)
        stack.append(node)
    return root


def items_text(node: Node) -> list[Paragraph]:
    """A node's own text and its items, bullets stripped of their marks."""
    found = [Paragraph(node.rest, node.where)] if node.rest else []
    for item in node.items:
        found.append(Paragraph(bullet(item.text) or item.text, item.where))
    return found


def find(root: Node, *words: str) -> Node | None:
    for node in root.walk():
        if node.level in (0, 1) and any(word in node.title.upper() for word in words):
            return node
    return None
