"""Sphinx extension: a notebook figure's alt text becomes its ``<img alt>``.

IPython keeps per-mimetype metadata with each output, and ``course_utils.plots.show(fig,
alt=...)`` puts a figure's description in ``output.metadata["image/png"]["alt"]``. myst-nb
(1.4) honours only ``width`` and ``height`` from that metadata, so without this extension the
figure's ``alt`` would be its file name. myst-nb names each image file after the SHA-256 of its
bytes; this extension reads the page's notebook, maps each PNG's hash to its alt text, and sets
``alt`` on the image nodes of the page before they are written.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import PurePosixPath

import nbformat
from docutils import nodes


def alt_by_hash(nb) -> dict[str, str]:
    """``{sha256 of the PNG's bytes: alt}`` for every PNG output of ``nb`` that carries an alt."""
    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            if png and alt:
                data = png if isinstance(png, str) else "".join(png)
                found.setdefault(hashlib.sha256(base64.b64decode(data)).hexdigest(), alt)
    return found


def _set_alt(app, doctree) -> None:
    source = app.env.doc2path(app.env.docname)
    if not str(source).endswith(".ipynb"):
        return
    alts = alt_by_hash(nbformat.read(source, as_version=4))
    for image in doctree.findall(nodes.image):
        digest = PurePosixPath(image["uri"]).stem
        if digest in alts:
            image["alt"] = alts[digest]


def setup(app):
    app.connect("doctree-read", _set_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
