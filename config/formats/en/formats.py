"""Dates in the back office: ISO 8601 (2024-03-31, 2024-03-31 14:05), as in the API, the CSV
exports and bank statements. Shorter than Django's "March 31, 2024, 2:05 p.m.", so the date
columns of the lists fit a laptop screen (tests/admin/test_browser.py checks the layout)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
