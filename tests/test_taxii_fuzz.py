"""A hypothesis fuzz of every TAXII query parameter and request header: never a 5xx.

Requests go over real HTTP from a worker thread (hypothesis drives a synchronous test), while
the server under test keeps serving on the session's event loop.
"""

from __future__ import annotations

import asyncio
import http.client
import uuid
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import indicator, post

PARAMS = ["added_after", "limit", "next", "match[id]", "match[type]", "match[version]",
          "match[spec_version]"]
HEADERS = ["Accept", "Content-Type", "Authorization", "Content-Encoding", "If-None-Match",
           "Range", "X-Forwarded-For", "Last-Event-ID", "Accept-Encoding", "Content-Length"]

# Values shaped like the real ones, plus anything at all.
_SHAPED = st.sampled_from([
    "", "0", "1", "-1", "²", "①", "9" * 40, "2026-01-01T00:00:00.000Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "first", "last", "all",
    "first,last", ",", "indicator", "indicator--" + str(uuid.uuid4()), "2.1", "2.0,2.1",
    "MC4x", "OTIyMzM3MjAzNjg1NDc3NTgwOC4x", "application/taxii+json;version=2.1",
    "application/stix+json;version=2.1", "*/*", "gzip", "deflate", "Bearer x.y", "Basic Og==",
    "\x00", "%00", "a\u0301", "\ud7ff",
])
_TEXT = st.text(max_size=80)
_VALUE = st.one_of(_SHAPED, _TEXT)
# What http.client can put on the wire as a header value: latin-1, no CR/LF/NUL.
_HEADER_VALUE = st.one_of(_SHAPED, st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
)).filter(lambda v: all(0x20 <= ord(c) <= 0xFF and c != "\x7f" for c in v))


def _request(base_url: str, method: str, path: str, headers: dict[str, str],
             body: bytes | None) -> int:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1"))
        if body is not None and "Content-Length" not in headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        response.read()
        return response.status
    except (ConnectionError, http.client.HTTPException):
        # The server may drop a request whose framing it refuses (a bad Content-Length):
        # that is not a 5xx.
        return 400
    finally:
        conn.close()


async def test_no_query_parameter_or_header_makes_a_taxii_route_fail(
    http, base_url, world
):
    obj = indicator()
    status = await post(http, base_url, world.collection_id, world.alice.contributor, obj)
    collection = f"/taxii2/root/collections/{world.collection_id}"
    paths = [
        "/taxii2/", "/taxii2/root/", "/taxii2/root/collections/", f"{collection}/",
        f"{collection}/objects/", f"{collection}/manifest/", f"{collection}/objects/{obj['id']}/",
        f"{collection}/objects/{obj['id']}/versions/", f"/taxii2/root/status/{status['id']}/",
        "/taxii2/feeds/", "/taxii2/feeds/collections/",
    ]
    token = world.alice.contributor.token

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(
        path=st.sampled_from(paths),
        method=st.sampled_from(["GET", "GET", "GET", "POST", "DELETE", "HEAD"]),
        query=st.dictionaries(st.one_of(st.sampled_from(PARAMS), _TEXT), _VALUE, max_size=4),
        headers=st.dictionaries(st.sampled_from(HEADERS), _HEADER_VALUE, max_size=4),
        authorised=st.booleans(),
        body=st.one_of(st.none(), st.binary(max_size=200),
                       st.just(b'{"objects":[' + b"{}" + b"]}")),
    )
    def fuzz(path, method, query, headers, authorised, body):
        sent = {"Accept": "application/taxii+json;version=2.1"}
        if authorised:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers)
        qs = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in query.items())
        target = path + ("?" + qs if qs else "")
        code = _request(base_url, method, target, sent, body if method == "POST" else None)
        assert code < 500, (method, target, sent)

    await asyncio.to_thread(fuzz)
