"""GDAL's OGC API – Tiles reader opens kvpt's vector tiles (issue 21), run by
tests/it/gis_clients.rs.

Debian 12's GDAL 3.6.2 has the vector part of its `OGCAPI:` driver compiled out, so this
uses the GDAL that pyogrio's wheel carries (3.12, in the test tools' virtualenv): it
follows the collection's tilesets link, the tileset, the tile matrix set, then reads every
tile of zoom level ZOOM over the province. GDAL takes the collection's extent as being in
the tile matrix set's CRS, so the province's extent is given in EPSG:3857 (MINX…MAXY
open options), as README tells users to.

Signs in with USER and TOKEN over HTTP Basic when TOKEN is not "-".
Prints one JSON object: the layers GDAL saw, and the distinct work codes it read.

usage: gdal_tiles.py BASE_URL COLLECTION ZOOM USER TOKEN
"""

import json
import math
import os
import sys

base, collection, zoom, user, token = sys.argv[1:6]
if token != "-":
    os.environ["GDAL_HTTP_AUTH"] = "BASIC"
    os.environ["GDAL_HTTP_USERPWD"] = f"{user}:{token}"

import pyogrio  # noqa: E402
from pyogrio.raw import read  # noqa: E402

RADIUS = 6378137.0


def mercator(lon, lat):
    x = math.radians(lon) * RADIUS
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * RADIUS
    return x, y


minx, miny = mercator(105.8, 10.9)
maxx, maxy = mercator(106.5, 11.8)
url = f"OGCAPI:{base}/collections/{collection}"
layers = [str(name) for name, _ in pyogrio.list_layers(url)]
meta, _, geometries, fields = read(
    url, layer=f"Zoom level {zoom}", MINX=minx, MINY=miny, MAXX=maxx, MAXY=maxy
)
names = list(meta["fields"])
codes = sorted(set(fields[names.index("code")])) if "code" in names else []
print(
    json.dumps(
        {
            "gdal": pyogrio.__gdal_version_string__,
            "layers": layers,
            "features": len(geometries),
            "codes": [str(c) for c in codes],
        }
    )
)
