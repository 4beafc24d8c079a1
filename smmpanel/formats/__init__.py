"""The panel's own date formats (settings.FORMAT_MODULE_PATH): one per language, docs/money.md.

Django's locales give each language a long and a short form; a page that used both
read "Dec. 2, 2026, 4:52 a.m." next to "12/02/2026 4:52 a.m.". Here every name a
template may use is the same format. Numbers keep Django's locale formats.
"""
