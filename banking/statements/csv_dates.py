"""CSV dates: the formats banks write, parsing one value, and picking a file's format from samples."""

from __future__ import annotations

import datetime
import re
from functools import lru_cache

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "jan january januar janv janvier januari jänner jaenner",
            "feb february februar fev fevr février fevrier februari",
            "mar march mär maerz märz mrz mars mrt maart",
            "apr april avr avril",
            "may mai mei",
            "jun june juni juin",
            "jul july juli juil juillet",
            "aug august aout août augustus",
            "sep sept september septembre",
            "oct october okt oktober octobre",
            "nov november novembre",
            "dec december dez dezember déc décembre",
        ),
        start=1,
    )
    for name in names.split()
}
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?$")
_NAMED_DMY = re.compile(r"(\d{1,2})[ .\-/]+([^\W\d_]+)\.?[ .\-/,]+(\d{4}|\d{2})")
_NAMED_MDY = re.compile(r"([^\W\d_]+)\.?[ .\-/]+(\d{1,2}),?[ .\-/]+(\d{4})")

#: Date formats in preference order; NAMED_* are handled by hand because
#: strptime's %b depends on the process locale.
NAMED_DMY = "%d %b %Y"
NAMED_MDY = "%b %d, %Y"
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%y",
    "%m-%d-%y",
    NAMED_DMY,
    NAMED_MDY,
)
_MONTH_FIRST = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%m-%d-%Y": "%d-%m-%Y",
    "%m/%d/%y": "%d/%m/%y",
    "%m-%d-%y": "%d-%m-%y",
}


class DateParser:
    """Parses dates with one chosen format; caches because dates repeat a lot.

    Without a format (nothing to sample) each value gets the first format
    of DATE_FORMATS that fits it.
    """

    def __init__(self, fmt: str | None) -> None:
        self.fmt = fmt or "a recognisable date"
        self._fmt = fmt
        self.parse = lru_cache(maxsize=4096)(self._parse)

    def _parse(self, value: str) -> datetime.date:
        if self._fmt:
            return parse_date(value, self._fmt)
        for fmt in DATE_FORMATS:
            try:
                return parse_date(value, fmt)
            except ValueError:
                continue
        raise ValueError(value)


def parse_date(value: str, fmt: str) -> datetime.date:
    """Parse ``value`` with ``fmt`` (strptime syntax), ignoring a time of day."""
    text = _TIME_SUFFIX.sub("", value.strip())
    if fmt == "%Y-%m-%d":
        return datetime.date.fromisoformat(text) if len(text) == 10 else _strp(text, fmt)
    if fmt in (NAMED_DMY, NAMED_MDY):
        match = (_NAMED_DMY if fmt == NAMED_DMY else _NAMED_MDY).fullmatch(text)
        if not match:
            raise ValueError(f"does not match {fmt}")
        if fmt == NAMED_DMY:
            day, month_name, year = match.groups()
        else:
            month_name, day, year = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            raise ValueError(f"unknown month {month_name!r}")
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        return datetime.date(full_year, month, int(day))
    return _strp(text, fmt)


def _strp(text: str, fmt: str) -> datetime.date:
    return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no tz


def _fits(values: list[str], fmt: str) -> int:
    count = 0
    for value in values:
        try:
            parse_date(value, fmt)
        except ValueError:
            continue
        count += 1
    return count


def detect_date_format(values: list[str], month_first: bool = False) -> str | None:
    """Pick the format that parses every sampled value (see module docs)."""
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    scores = {fmt: _fits(values, fmt) for fmt in DATE_FORMATS}
    best = max(scores.values())
    if best == 0:
        return None
    winners = [fmt for fmt in DATE_FORMATS if scores[fmt] == best]
    choice = winners[0]
    if month_first:
        for fmt in winners:
            if fmt in _MONTH_FIRST and _MONTH_FIRST[fmt] in winners:
                return fmt
    return choice
