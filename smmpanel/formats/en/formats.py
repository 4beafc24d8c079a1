# "Dec 2, 2026, 16:52": the month in words, so no reader takes the day for the month.
DATE_FORMAT = SHORT_DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "M j, Y, H:i"
