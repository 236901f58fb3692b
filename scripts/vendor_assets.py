"""Vendor the browser assets folium's maps need, so the app works with no internet.

Run once when a pinned version changes: ``python scripts/vendor_assets.py``. It uses
``npm pack`` (the npm registry only) and the installed ``folium`` package, copies the
needed files with their licences into ``static/vendor/`` and writes
``static/vendor/manifest.json``: a map from each CDN URL folium uses to its local file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import folium

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "static" / "vendor"
FOLIUM_TEMPLATES = Path(folium.__file__).parent / "templates"

# npm package spec -> (folder, files or folders to copy from package/, licence file)
NPM_PACKAGES: dict[str, tuple[str, list[str], str]] = {
    "leaflet@1.9.3": ("leaflet", ["dist/leaflet.js", "dist/leaflet.css", "dist/images"], "LICENSE"),
    "jquery@3.7.1": ("jquery", ["dist/jquery.min.js"], "LICENSE.txt"),
    "bootstrap@5.2.2": (
        "bootstrap",
        ["dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css"],
        "LICENSE",
    ),
    "@fortawesome/fontawesome-free@6.2.0": (
        "fontawesome",
        ["css/all.min.css", "webfonts"],
        "LICENSE.txt",
    ),
    "leaflet.awesome-markers@2.0.5": (
        "awesome-markers",
        ["dist/leaflet.awesome-markers.js", "dist/leaflet.awesome-markers.css", "dist/images"],
        "LICENSE",
    ),
    "leaflet.markercluster@1.1.0": (
        "markercluster",
        ["dist/leaflet.markercluster.js", "dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"],
        "MIT-LICENCE.txt",
    ),
    "leaflet.fullscreen@3.0.0": (
        "fullscreen",
        ["Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg"],
        "LICENSE",
    ),
}

# CDN URL -> local path below static/vendor ("" = not needed, dropped)
URLS: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/dist/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/dist/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/dist/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    # Glyphicons (Bootstrap 3) are only used by folium.Icon(prefix="glyphicon"); we never do.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": "",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "awesome-markers/dist/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "awesome-markers/dist/leaflet.awesome-markers.css",
    # Only used by folium.Icon(angle=...), which we never set; not shipped in folium's wheel.
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js":
        "folium/leaflet_heat.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "markercluster/dist/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "markercluster/dist/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "markercluster/dist/MarkerCluster.Default.css",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "fullscreen/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "fullscreen/Control.FullScreen.css",
}


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)


def vendor_npm(spec: str, folder: str, files: list[str], licence: str, tmp: Path) -> None:
    """Fetch one npm package with ``npm pack`` and copy the listed files."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=tmp, check=True, capture_output=True, text=True
    )
    tarball = tmp / out.stdout.strip().splitlines()[-1]
    unpack = tmp / folder
    with tarfile.open(tarball) as tar:
        tar.extractall(unpack, filter="data")
    package = unpack / "package"
    for name in [*files, licence]:
        _copy(package / name, VENDOR / folder / name)
    (VENDOR / folder / "SOURCE.txt").write_text(f"npm package {spec}\n", encoding="utf-8")


def main() -> None:
    """Vendor every asset and write the manifest."""
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (folder, files, licence) in NPM_PACKAGES.items():
            vendor_npm(spec, folder, files, licence, Path(tmp))
    for name in ["leaflet_heat.min.js"]:
        _copy(FOLIUM_TEMPLATES / name, VENDOR / "folium" / name)
    dist_info = Path(folium.__file__).parents[1] / f"folium-{folium.__version__}.dist-info"
    _copy(dist_info / "licenses" / "LICENSE.txt", VENDOR / "folium" / "LICENSE.txt")
    (VENDOR / "folium" / "SOURCE.txt").write_text(
        f"PyPI package folium {folium.__version__} (templates/)\n", encoding="utf-8"
    )
    missing = [p for p in URLS.values() if p and not (VENDOR / p).exists()]
    if missing:
        msg = f"vendored files missing: {missing}"
        raise SystemExit(msg)
    (VENDOR / "manifest.json").write_text(json.dumps(URLS, indent=1) + "\n", encoding="utf-8")
    print(f"vendored {len(URLS)} URLs into {VENDOR}")


if __name__ == "__main__":
    main()
