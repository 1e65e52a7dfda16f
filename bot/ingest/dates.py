"""Dates and times as the post file layout writes them: "Sunday, June 23, 2024", "June 23, 2024 at 9:10 AM".

Read tolerantly (weekday optional, several orders, ISO, US slashes, 12- and 24-hour clocks, an
optional UTC offset) and written in one form, so an export reads back to the same moments.
"""

from __future__ import annotations

import datetime as dt
import re

MONTH_NAMES = "January February March April May June July August September October November December".split()
WEEKDAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = {n.lower(): i for i, name in enumerate(MONTH_NAMES, 1) for n in (name, name[:3])} | {"sept": 9}
WEEKDAYS = {n.lower(): i for i, name in enumerate(WEEKDAY_NAMES) for n in (name, name[:3])}
WEEKDAYS |= {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}

_DATE = (
    r"(?:(?P<wd>[a-z]{3,9})\.?,?\s+)?"
    r"(?:(?P<m1>[a-z]{3,9})\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{4})"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m2>[a-z]{3,9})\.?,?\s+(?P<y2>\d{4})"
    r"|(?P<y3>\d{4})-(?P<m3>\d{1,2})-(?P<d3>\d{1,2})"
    r"|(?P<m4>\d{1,2})/(?P<d4>\d{1,2})/(?P<y4>\d{4}))"
)
_TIME = (
    r"(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:\.(?P<us>\d{1,6}))?)?"
    r"(?:\s*(?P<ampm>[ap])\.?m\.?)?"
    r"(?:\s*(?P<tz>utc|gmt|z|[+-]\d{2}:?\d{2}))?"
)
_SEP = r"(?:,?\s+(?:at\s+)?|\s*t)"
DATE_LINE = re.compile(rf"^{_DATE}(?:{_SEP}{_TIME})?$", re.I)
TIME_LINE = re.compile(rf"^(?:{_DATE}{_SEP})?{_TIME}$", re.I)


def date_of(m: re.Match) -> dt.date | None:
    """The date a _DATE match names; None if it is not a date at all; ValueError if impossible."""
    if m["y1"]:
        month, day, year = MONTHS.get(m["m1"].lower()), m["d1"], m["y1"]
    elif m["y2"]:
        month, day, year = MONTHS.get(m["m2"].lower()), m["d2"], m["y2"]
    elif m["y3"]:
        month, day, year = int(m["m3"]), m["d3"], m["y3"]
    elif m["y4"]:
        month, day, year = int(m["m4"]), m["d4"], m["y4"]
    else:
        return None
    if month is None:
        return None
    if m["wd"] and m["wd"].lower() not in WEEKDAYS:
        return None
    return dt.date(int(year), month, int(day))  # ValueError when impossible


def time_of(m: re.Match, default_date: dt.date | None) -> dt.datetime | None:
    """Aware datetime from a TIME_LINE match (UTC unless the line names a zone)."""
    try:
        day = date_of(m) if (m["y1"] or m["y2"] or m["y3"] or m["y4"]) else default_date
    except ValueError:
        return None
    if m["wd"] and day is None:
        return None
    hour, minute = int(m["hh"]), int(m["mm"])
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"].lower() == "p" else 0)
    tz = dt.timezone.utc
    raw_tz = (m["tz"] or "").lower()
    if raw_tz and raw_tz not in ("utc", "gmt", "z"):
        sign = -1 if raw_tz[0] == "-" else 1
        digits = raw_tz[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= dt.timedelta(hours=24):
            return None
        tz = dt.timezone(sign * offset)
    if day is None:  # structural check only: any valid clock time will do
        day = dt.date(2000, 1, 1)
    try:
        return dt.datetime(day.year, day.month, day.day, hour, minute, int(m["ss"] or 0),
                           int((m["us"] or "0").ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None



def format_date(d: dt.date) -> str:
    return f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


def format_time(t: dt.datetime) -> str:
    """'June 23, 2024 at 9:10 AM' (+ seconds, fraction, offset only when needed)."""
    hour12 = t.hour % 12 or 12
    clock = f"{hour12}:{t.minute:02d}"
    if t.second or t.microsecond:
        clock += f":{t.second:02d}"
    if t.microsecond:
        clock += f".{t.microsecond:06d}"
    text = f"{MONTH_NAMES[t.month - 1]} {t.day}, {t.year} at {clock} {'PM' if t.hour >= 12 else 'AM'}"
    offset = t.utcoffset()
    if offset:  # None (naive, read back as UTC) or zero: nothing to write
        sign = "-" if offset < dt.timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        text += f" {sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text
