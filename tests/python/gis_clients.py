"""What a partner's script does with kvpt (issue 21), run by tests/it/gis_clients.rs.

OWSLib reads the landing page, the conformance classes, the collections and items with
the user's token over HTTP Basic; Python `requests` then changes one work through OGC API
Features Part 4 with If-Match, and tries again with the ETag it no longer holds.
Prints one JSON object with what it saw; the Rust test judges it.

usage: gis_clients.py BASE_URL USER TOKEN COLLECTION CODE
"""

import json
import sys

import requests
from owslib.ogcapi.features import Features
from owslib.util import Authentication

base, user, token, collection, code = sys.argv[1:6]
seen = {}

api = Features(base, auth=Authentication(user, token))
seen["landing_links"] = sorted({link["rel"] for link in api.links})
seen["conforms"] = api.conformance()["conformsTo"]
seen["collections"] = [c["id"] for c in api.collections()["collections"]]
items = api.collection_items("sites", limit=1000)
seen["items_returned"] = items["numberReturned"]
seen["items_matched"] = items["numberMatched"]
seen["queryables"] = sorted(api.collection_queryables("sites").get("properties", {}))

session = requests.Session()
session.auth = (user, token)
url = f"{base}/collections/{collection}/items/{code}"
first = session.get(url)
first.raise_for_status()
etag = first.headers["ETag"]
patched = session.patch(
    url,
    json={"properties": {"name": "Tên đổi bởi script"}},
    headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
)
seen["patch_status"] = patched.status_code
seen["patched_name"] = patched.json()["properties"]["name"]
seen["etag_before"] = etag
seen["etag_after"] = patched.headers.get("ETag")
stale = session.patch(
    url, json={"properties": {"name": "Ghi đè"}}, headers={"If-Match": etag}
)
seen["stale_status"] = stale.status_code
seen["stale_error"] = stale.json().get("error")
print(json.dumps(seen, ensure_ascii=False))
