"""``int_id``: which strings name an integer id (an experiment's, a promotion request's).
Anything else names nothing, so the caller answers 404, never an overflow in the driver."""

from __future__ import annotations

import pytest

from keel.entities.rules import INT64_MAX, int_id


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("7", 7), ("42", 42), (12, 12)])
def test_decimal_digits_name_their_number(value: object, expected: int) -> None:
    assert int_id(value) == expected


def test_the_largest_64_bit_integer_is_the_last_id() -> None:
    assert int_id(str(INT64_MAX)) == INT64_MAX
    assert int_id(str(INT64_MAX + 1)) is None
    assert int_id(str(2**64)) is None
    assert int_id("9" * 400) is None
    assert int_id("12", maximum=11) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-1",
        "+1",
        " 7",
        "7 ",
        "7\n",
        "7_0",
        "1e3",
        "0x10",
        "٣",
        "\uff17",
        "7\x00",
        None,
        True,
        -3,
    ],
)
def test_anything_else_names_no_id(value: object) -> None:
    assert int_id(value) is None
