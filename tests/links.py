"""Links every entry point (API v1 and v2, the order form, the mass order) must refuse or accept.

Refused: invisible Unicode format characters (category Cf: bidi controls, zero-width
characters, the byte order mark, soft hyphens, tags), which make a link read differently
from what it is, and ports outside 1..65535 or not written as ASCII digits. An empty port
(`host:`) is refused too, as Django's URLValidator does: the URL standard allows it, but a
link with a bare colon is a typo to tell the customer about, not one to forward upstream.
"""

import pytest

# (test id, link)
REFUSED_LINKS = [
    ("cf-U+202E-right-to-left-override", "https://instagram.com/p/\u202egpj.exe"),
    ("cf-U+200B-zero-width-space", "https://insta\u200bgram.com/p/Cx1"),
    ("cf-U+2066-left-to-right-isolate", "https://instagram.com/p/\u2066Cx1\u2069"),
    ("cf-U+FEFF-byte-order-mark-leading", "\ufeffhttps://instagram.com/p/Cx1"),
    ("cf-U+FEFF-byte-order-mark-trailing", "https://instagram.com/p/Cx1\ufeff"),
    ("cf-U+200E-left-to-right-mark", "https://instagram.com/p/Cx1\u200e"),
    ("cf-U+061C-arabic-letter-mark", "https://instagram.com/p/\u061cCx1"),
    ("cf-U+00AD-soft-hyphen", "https://insta\u00adgram.com/p/Cx1"),
    ("cf-U+E0041-tag-letter", "https://instagram.com/p/Cx1\U000e0041"),
    ("cf-U+202E-in-a-bare-link", "instagram.com/p/\u202eCx1"),
    ("port-0", "https://instagram.com:0/p/Cx1"),
    ("port-65536", "https://instagram.com:65536/p/Cx1"),
    ("port-99999999", "https://instagram.com:99999999/p/Cx1"),
    ("port-abc", "https://instagram.com:abc/p/Cx1"),
    ("port-empty", "https://instagram.com:/p/Cx1"),
    ("port-empty-at-the-end", "https://instagram.com:"),
    ("port-negative", "https://instagram.com:-1/p/Cx1"),
    ("port-plus-sign", "https://instagram.com:+443/p/Cx1"),
    ("port-arabic-indic-digits", "https://instagram.com:\u0664\u0664\u0663/p/Cx1"),
    ("port-99999-in-a-bare-link", "instagram.com:99999/p/Cx1"),
    ("port-65536-ipv6", "https://[2001:db8::1]:65536/p/Cx1"),
    ("port-70000-after-credentials", "https://user:pw@instagram.com:70000/p/Cx1"),
]

# Look alike but fine: every port 1..65535, and non-Latin text that is not a format character.
ACCEPTED_LINKS = [
    ("port-1", "https://instagram.com:1/p/Cx1"),
    ("port-443", "https://instagram.com:443/p/Cx1"),
    ("port-65535", "https://instagram.com:65535/p/Cx1"),
    ("port-8080-http", "http://instagram.com:8080/p/Cx1"),
    ("port-8080-bare", "instagram.com:8080/p/Cx1"),
    ("port-8443-ipv6", "https://[2001:db8::1]:8443/p/Cx1"),
    ("accented", "https://instagram.com/p/caf\u00e9"),
    ("arabic-letters", "https://example.com/\u0645\u0631\u062d\u0628\u0627"),
]


def link_params(links: list[tuple[str, str]]) -> list[object]:
    """For pytest.mark.parametrize("link", ...), each named by its id."""
    return [pytest.param(link, id=name) for name, link in links]
