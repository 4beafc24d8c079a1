"""Reading a reseller API request from a WSGI environ, as liberally as clients send it.

Form, multipart, JSON body, query string on a POST or a GET: all become one flat
dict of str; where a name is in both query and body, the body wins.
"""

import json
from io import BytesIO
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError

MAX_FIELDS = 1000


class TransportError(Exception):
    """The request cannot be read; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class BodyTooLarge(TransportError):
    def __init__(self) -> None:
        super().__init__(413, "too_large")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TransportError(200, "bad_encoding") from None


def _parse_urlencoded(raw: bytes) -> dict[str, str]:
    # Decoding as latin-1 maps every byte to one character, so the percent-decoded
    # result can be turned back into the exact bytes and checked as UTF-8.
    try:
        pairs = parse_qsl(
            raw.decode("latin-1"),
            keep_blank_values=True,
            encoding="latin-1",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:
        raise TransportError(200, "bad_request") from None
    return {_decode(n.encode("latin-1")): _decode(v.encode("latin-1")) for n, v in pairs}


def _flat(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, list):
        separator = "," if name in {"orders", "refills"} else "\n"
        return separator.join(_flat(item, name) for item in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _utf8(text: str) -> str:
    # JSON's \ud800 escapes can smuggle lone surrogates, which are not UTF-8.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TransportError(200, "bad_encoding") from None
    return text


def _parse_json(raw: bytes) -> dict[str, str]:
    try:
        data = json.loads(_decode(raw))
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise TransportError(200, "bad_request") from None
    if not isinstance(data, dict):
        raise TransportError(200, "bad_request")
    return {_utf8(str(name)): _utf8(_flat(value, str(name))) for name, value in data.items()}


def _parse_multipart(environ: dict[str, Any], raw: bytes) -> dict[str, str]:
    meta = {
        "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
        "CONTENT_LENGTH": str(len(raw)),
    }
    try:
        parser = MultiPartParser(meta, BytesIO(raw), [MemoryFileUploadHandler()], "utf-8")
        fields, _files = parser.parse()
    except (MultiPartParserError, TooManyFieldsSent, RequestDataTooBig, ValueError):
        raise TransportError(200, "bad_request") from None
    for value in fields.values():
        if "\ufffd" in value:
            raise TransportError(200, "bad_encoding")
    return {name: str(fields[name]) for name in fields}


# A body over the limit is still read (and dropped) up to this much, so that the client,
# still sending, gets to read the 413 instead of a reset connection.
DRAIN_LIMIT = 16 * 1024 * 1024


def _drain(stream: Any, length: int | None) -> None:
    left = DRAIN_LIMIT if length is None else min(length, DRAIN_LIMIT)
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            return
        left -= len(chunk)


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise TransportError(400, "bad_request") from None
    stream = environ["wsgi.input"]
    if length > limit:
        _drain(stream, length)
        raise BodyTooLarge
    if length > 0:
        return bytes(stream.read(length))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = bytes(stream.read(limit + 1))
        if len(body) > limit:
            _drain(stream, None)
            raise BodyTooLarge
        return body
    return b""


def read_params(environ: dict[str, Any], limit: int) -> dict[str, str]:
    """All parameters of the request; raises TransportError when it cannot be read."""
    query = environ.get("QUERY_STRING", "")
    # PEP 3333: the query string arrives as latin-1-decoded bytes.
    params = _parse_urlencoded(query.encode("latin-1")) if query else {}
    body = read_body(environ, limit)
    if body:
        content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
            params.update(_parse_json(body))
        elif content_type == "multipart/form-data":
            params.update(_parse_multipart(environ, body))
        else:
            params.update(_parse_urlencoded(body))
    return params


def header_key(environ: dict[str, Any]) -> str:
    """The API key from `X-Api-Key` or `Authorization: Bearer`, if sent that way."""
    key = str(environ.get("HTTP_X_API_KEY", "")).strip()
    if key:
        return key
    scheme, _, token = str(environ.get("HTTP_AUTHORIZATION", "")).strip().partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    return ""
