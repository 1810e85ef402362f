"""The price book overrides sample prices; a bad one is refused at file:line:col."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.config import Config, load_config
from reconciler.errors import ValidationFailed
from reconciler.platforms import PLATFORMS
from reconciler.pricebook import load_catalogs, load_pricebook

BOOK = """\
currency: EUR
platforms:
  ipecs-cloud:
    products:
      Premium iPECS ONE USER: {monthly: "19.99"}
  mitel-connect:
    products:
      standard: {monthly: 30, one_time: "0"}
    add_ons:
      fax: {monthly: "3.5"}
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refusal(path: Path, name: str) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_pricebook(path, display_name=name)
    return [str(e) for e in info.value.errors]


def test_without_a_price_book_the_samples_apply(here: Path) -> None:
    catalogs = load_catalogs(Config())
    assert catalogs["ipecs-cloud"] is PLATFORMS["ipecs-cloud"].catalog
    assert catalogs["ipecs-cloud"].sample_prices is True


def test_pricebook_yaml_in_the_current_directory_overrides_prices(here: Path) -> None:
    (here / "pricebook.yaml").write_text(BOOK)
    catalogs = load_catalogs(load_config(None))
    ipecs = catalogs["ipecs-cloud"]
    assert ipecs.products["Premium iPECS ONE USER"].monthly == Decimal("19.99")
    assert ipecs.products["Basic User With VM"].monthly == Decimal("14.00")  # still the sample
    assert ipecs.currency == "EUR"
    mitel = catalogs["mitel-connect"]
    assert mitel.products["standard"].monthly == Decimal("30.00")
    assert mitel.products["standard"].one_time == Decimal("0.00")
    assert mitel.products["advanced"].one_time == Decimal("20.00")
    assert mitel.add_ons["fax"].monthly == Decimal("3.50")
    # other prices still come from the samples, and the catalog says so
    assert mitel.sample_prices is True


def test_a_complete_price_book_clears_the_sample_label(here: Path) -> None:
    lines = ["platforms:", "  ipecs-cloud:", "    products:"]
    lines += [
        f'      {key}: {{monthly: "1.00"}}' for key in PLATFORMS["ipecs-cloud"].catalog.products
    ]
    (here / "pricebook.yaml").write_text("\n".join(lines) + "\n")
    catalogs = load_catalogs(Config())
    assert catalogs["ipecs-cloud"].sample_prices is False
    assert catalogs["call2teams"].sample_prices is True


def test_the_price_book_named_in_reconciler_yaml_relative_to_it(here: Path) -> None:
    (here / "conf").mkdir()
    (here / "conf" / "reconciler.yaml").write_text("pricebook: prices.yaml\n")
    (here / "conf" / "prices.yaml").write_text(BOOK)
    catalogs = load_catalogs(load_config("conf/reconciler.yaml"))
    assert catalogs["ipecs-cloud"].products["Premium iPECS ONE USER"].monthly == Decimal("19.99")


def test_a_named_price_book_that_is_missing_points_at_reconciler_yaml(here: Path) -> None:
    (here / "reconciler.yaml").write_text("state: {path: s.db}\npricebook: nosuch.yaml\n")
    with pytest.raises(ValidationFailed) as info:
        load_catalogs(load_config("reconciler.yaml"))
    assert str(info.value) == "reconciler.yaml:2:12: price book nosuch.yaml does not exist"


def test_a_named_price_book_that_cannot_be_read_points_at_reconciler_yaml(here: Path) -> None:
    (here / "reconciler.yaml").write_text("pricebook: book.yaml\n")
    (here / "book.yaml").mkdir()
    with pytest.raises(ValidationFailed) as info:
        load_catalogs(load_config("reconciler.yaml"))
    assert str(info.value) == (
        "reconciler.yaml:1:12: price book book.yaml cannot be read: is a directory, not a YAML file"
    )


def test_unknown_product_and_add_on_with_did_you_mean(here: Path) -> None:
    path = here / "p.yaml"
    path.write_text(
        "platforms:\n  mitel-connect:\n    products:\n      standrad: {monthly: 1}\n"
        "    add_ons:\n      call-recordings: {monthly: 1}\n"
        "  call2teams:\n    products:\n      C2TU2500: {monthly: 1}\n"
    )
    assert refusal(path, "p.yaml") == [
        'p.yaml:4:7: unknown profile type "standrad" (did you mean "standard"?)',
        'p.yaml:6:7: unknown add-on "call-recordings" (did you mean "call-recording"?)',
        'p.yaml:9:7: unknown SKU "C2TU2500" (did you mean "C2TU250"?)',
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "platforms:\n  call2teams:\n    products:\n      C2TU25: {monthly: 4.8}\n",
            "4:25: monthly must be a decimal string or an integer, found 4.8; quote prices so no "
            'rounding creeps in, e.g. "4.80"',
        ),
        (
            'platforms:\n  call2teams:\n    products:\n      C2TU25: {monthly: "4.805"}\n',
            '4:25: monthly "4.805" is not valid: write a price such as "12.50" '
            "(at most two decimal places)",
        ),
        (
            "platforms:\n  call2teams:\n    products:\n      C2TU25: {monthly: -1}\n",
            "4:25: monthly must be 0 or more, found -1",
        ),
        (
            "currency: dollars\n",
            '1:11: currency "dollars" is not valid: write a three-letter ISO 4217 code such as '
            "USD or EUR",
        ),
        (
            "platforms:\n  call2teams:\n    products:\n      C2TU25: {}\n",
            '4:15: products "C2TU25" must not be empty',
        ),
        (
            "platforms:\n  call2teams:\n    products:\n      C2TU25: {monthy: 1}\n",
            '4:16: unknown field "monthy" (did you mean "monthly"?)',
        ),
    ],
)
def test_bad_prices(here: Path, text: str, message: str) -> None:
    path = here / "p.yaml"
    path.write_text(text)
    assert refusal(path, "p.yaml") == [f"p.yaml:{message}"]


def test_the_example_price_book_loads() -> None:
    example = Path(__file__).parent.parent / "docs" / "pricebook.example.yaml"
    book = load_pricebook(example)
    assert book.currency == "USD"
    assert book.platforms["call2teams"]["products"]["C2TU25"]["monthly"] == Decimal("4.80")
