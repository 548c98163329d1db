"""A plan read from its document: `read_plan(name, data)` answers the draft (see `draft`) of a
.docx, a .pdf with a text layer or a .txt, or raises `DocumentRefused` with a Vietnamese message.

Pure parsing: no model of the app is imported, nothing is written; the one number parser
(healthplans.vnnumber) reads every figure and amount."""

from healthplans.documents.draft import Draft
from healthplans.documents.extract import DocumentRefused
from healthplans.documents.reader import read_plan

__all__ = ["DocumentRefused", "Draft", "read_plan"]
