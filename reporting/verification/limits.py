"""Bounds on the work an anonymous upload may cost (``/verify/`` and ``/api/verify/`` need no
login): signature fields, revisions and objects examined, a time budget, and requests per
address.

A 192 KB file with 400 signature fields pointing at one signature made pyHanko digest the file
and run the difference analysis 400 times (10 s, 200 MB); such a file is refused before any
signature is validated. The time budget is cooperative: the verifier checks it between the units
of work it controls (each pass over the file, each signature, each revision it walks); pyHanko's
validation of one signature cannot be interrupted, and the counts above and the upload size keep
it small.
"""

import re
import time
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# Every quantifier is bounded, so that counting stays linear in the upload's size whatever its
# bytes (an unbounded `\d+` or `[^>]*?` backtracks quadratically over a long run of digits or of
# "/N 1": 200 KB of them took over a minute).
OBJECT_HEADER = re.compile(rb"(?<!\d)\d{1,10}\s{1,8}\d{1,5}\s{1,8}obj\b")
OBJECT_STREAM = re.compile(rb"/Type\s{0,8}/ObjStm")
PACKED_COUNT = re.compile(rb"/N\s{1,8}(\d{1,9})")
# How far from its /Type an object stream's dictionary may write its /N.
STREAM_DICTIONARY_BYTES = 512


class TooComplex(Exception):
    """The file asks for more work than an anonymous verification is allowed."""


@dataclass
class Budget:
    """The counts and the deadline of one verification."""

    max_signature_fields: int
    max_revisions: int
    max_objects: int
    deadline: float

    @classmethod
    def from_settings(cls) -> "Budget":
        return cls(
            max_signature_fields=settings.VERIFY_MAX_SIGNATURE_FIELDS,
            max_revisions=settings.VERIFY_MAX_REVISIONS,
            max_objects=settings.VERIFY_MAX_OBJECTS,
            deadline=time.monotonic() + settings.VERIFY_TIME_BUDGET_SECONDS,
        )

    def check_objects(self, pdf: bytes) -> None:
        """Refuse a file declaring more objects than a report holds many times over, before a
        reader builds its tables: the indirect objects written out, and those that object streams
        say they pack (`/N`), counted on the raw bytes."""
        written = len(OBJECT_HEADER.findall(pdf))
        streams = [match.start() for match in OBJECT_STREAM.finditer(pdf)]
        if written + len(streams) > self.max_objects:
            raise TooComplex(f"{written + len(streams)} objects")
        packed = 0
        for at in streams:
            start = pdf.rfind(b"<<", max(0, at - STREAM_DICTIONARY_BYTES), at)
            end = pdf.find(b">>", at, at + STREAM_DICTIONARY_BYTES)
            dictionary = pdf[start if start >= 0 else at : end if end >= 0 else at + STREAM_DICTIONARY_BYTES]
            if count := PACKED_COUNT.search(dictionary):
                packed += int(count.group(1))
        if written + packed > self.max_objects:
            raise TooComplex(f"{written + packed} objects")

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooComplex("time budget spent")


def verify_retry_after(request: HttpRequest) -> int | None:
    """Count this verification against the client's address (a fixed window per address, as the
    login lockout names addresses); the seconds to wait when it is over the limit, else None."""
    limit, window = settings.VERIFY_RATE_LIMIT, settings.VERIFY_RATE_WINDOW_SECONDS
    now = time.time()
    key = f"reporting:verify-rate:{get_client_ip_address(request)}:{int(now // window)}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired (or Redis is away) between add and incr: count afresh
        cache.set(key, 1, timeout=window)
        count = 1
    if count <= limit:
        return None
    return max(1, int(window - now % window))
