"""``reconciler report`` rendered: text and HTML through jinja2 templates, CSV through the
csv module (its quoting), JSON as it is. The HTML page is self-contained: inline CSS and
inline SVG bar charts, no script, no external asset (its Content-Security-Policy says so).
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from typing import IO, Any

from reconciler.render.env import render_template

REPORT_FORMATS = ("text", "html", "csv", "json")

#: bar chart geometry (px): the longest bar, one bar's height, the label column
BAR_MAX, BAR_HEIGHT, LABEL_WIDTH = 360, 14, 190

#: CSV columns, one row per account (a spreadsheet opens it as is)
CSV_COLUMNS = ("account", "customer", "platform", "external_id", "currency", "users", "held",
               "used", "idle", "waste", "cost", "revenue", "margin", "trials_ending",
               "pending_orders", "service_desk_requests")


def _amount(value: str | None) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def _bars(items: list[tuple[str, list[tuple[str, str | None]]]]) -> dict[str, Any]:
    """Chart geometry: one group per label, one bar per (series, amount)."""
    top = max((abs(_amount(v)) for _, series in items for _, v in series), default=Decimal(0))
    groups = []
    y = 0
    for label, series in items:
        bars = []
        for i, (name, value) in enumerate(series):
            width = 0 if not top else int(abs(_amount(value)) * BAR_MAX / top)
            bars.append({"series": name, "value": value if value is not None else "–",
                         "width": width,
                         "y": y + i * (BAR_HEIGHT + 2), "negative": _amount(value) < 0})
        groups.append({"label": label, "y": y, "bars": bars})
        y += len(series) * (BAR_HEIGHT + 2) + 10
    return {"groups": groups, "height": max(y, 20), "width": LABEL_WIDTH + BAR_MAX + 90,
            "x0": LABEL_WIDTH, "bar_height": BAR_HEIGHT}


def charts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "money": _bars([(f"{a['customer']} ({a['currency']})",
                         [("cost", a["cost"]), ("margin", a["margin"])])
                        for a in data["accounts"]]),
        "waste": _bars([(f"{p['platform_label']} ({p['currency']})", [("waste", p["waste"])])
                        for p in data["platforms"]]),
    }


def _csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet should read it: text starting like a formula is quoted
    with an apostrophe so it is shown, never evaluated (a customer named =HYPERLINK(...))."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            Decimal(value)  # a negative amount is a number, not a formula
        except ArithmeticError:
            return "'" + value
    return value


def write_csv(data: dict[str, Any], fh: IO[str]) -> None:
    writer = csv.writer(fh, lineterminator="\n")  # LF: spreadsheets read it, and stdout
    # keeps no bare control character (the CLI escapes \r on a terminal)
    writer.writerow(CSV_COLUMNS)
    for a in data["accounts"]:
        row = {**a, "trials_ending": len(a["trials_ending"]),
               "pending_orders": len(a["pending_orders"]),
               "service_desk_requests": len(a["service_desk"])}
        writer.writerow([_csv_cell("" if row[c] is None else row[c]) for c in CSV_COLUMNS])


def render_report(data: dict[str, Any], fmt: str, fh: IO[str]) -> None:
    if fmt == "json":
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    elif fmt == "csv":
        write_csv(data, fh)
    elif fmt == "html":
        render_template("html_report.j2", fh, report=data, charts=charts(data))
    else:
        render_template("report_text.j2", fh, report=data)
