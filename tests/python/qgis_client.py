"""QGIS opens kvpt as a partner's GIS officer would (issue 21), run by tests/it/gis_clients.rs.

With Debian 12's QGIS 3.22 (PyQGIS, headless): a Basic authentication configuration in
QGIS's authentication manager holds USER and the personal access TOKEN, as README's
"GIS clients" section tells a user to make; then
- an "OGC API - Features" layer (QGIS's OAPIF provider) of COLLECTION is read to the end;
- a vector tiles layer on the OGC API Tiles template
  `/collections/TILES/tiles/WebMercatorQuad/{z}/{y}/{x}` is drawn over the province.
Each is done once with the configuration and once without (an anonymous visitor).
Prints one JSON object with what QGIS saw; the Rust test judges it.

usage: qgis_client.py BASE_URL USER TOKEN COLLECTION TILES
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp(prefix="kvpt-qgis-auth-")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

base, user, token, collection, tiles = sys.argv[1:6]

app = QgsApplication([], False)
app.initQgis()
auth = QgsApplication.authManager()
auth.setMasterPassword("kvpt-test", True)
config = QgsAuthMethodConfig("Basic")
config.setName("kvpt")
config.setConfig("username", user)
config.setConfig("password", token)
stored, config = auth.storeAuthenticationConfig(config)
assert stored, "QGIS kept no authentication configuration"


def features(authcfg):
    """The OAPIF layer's validity and the number of features read from it."""
    uri = QgsDataSourceUri()
    uri.setParam("url", base)
    uri.setParam("typename", collection)
    if authcfg:
        uri.setAuthConfigId(authcfg)
    layer = QgsVectorLayer(uri.uri(False), collection, "OAPIF")
    return layer.isValid(), sum(1 for _ in layer.getFeatures())


def painted(authcfg):
    """The vector tiles layer's validity, and how many sampled pixels QGIS painted when
    drawing the province at about zoom 10 (0 when it got no feature)."""
    template = f"{base}/collections/{tiles}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    source = f"type=xyz&url={template}&zmin=0&zmax=16"
    if authcfg:
        source += f"&authcfg={authcfg}"
    layer = QgsVectorTileLayer(source, tiles)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    to_mercator = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), mercator, QgsProject.instance()
    )
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(mercator)
    settings.setExtent(to_mercator.transformBoundingBox(QgsRectangle(105.8, 10.9, 106.5, 11.8)))
    settings.setOutputSize(QSize(800, 800))
    settings.setBackgroundColor(QColor(255, 255, 255, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    n = sum(
        1
        for y in range(0, 800, 2)
        for x in range(0, 800, 2)
        if image.pixelColor(x, y).alpha() > 0
    )
    return layer.isValid(), n


seen = {}
seen["features_valid"], seen["features_with_token"] = features(config.id())
_, seen["features_anonymous"] = features(None)
seen["tiles_valid"], seen["painted_with_token"] = painted(config.id())
_, seen["painted_anonymous"] = painted(None)
print(json.dumps(seen))
app.exitQgis()
