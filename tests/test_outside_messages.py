"""Refusal messages as an outsider reads them: counts agree with their nouns."""

from __future__ import annotations

import pytest

HUGE = {"area": 1e308, "bedrooms": 1e308, "bathrooms": 2, "age": 10}
FINE = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.mark.parametrize(
    "rows, message, bad",
    [
        ([HUGE], "1 row gives no finite result.", {"0"}),
        ([HUGE, FINE, HUGE], "2 rows give no finite result.", {"0", "2"}),
    ],
)
def test_rows_that_overflow_are_counted_in_words(client, house, rows, message, bad):
    answer = client.post(f"{house}/predict", json={"instances": rows})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["message"] == message
    assert set(answer.get_json()["errors"]) == bad
