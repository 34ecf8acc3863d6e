"""Detection annotations from files: Pascal VOC XML, and the raccoon photos of the course's
YOLO demo (CSV labels + a zip of JPEGs). Boxes are (x1, y1, x2, y2) float32; targets are
``{"boxes": (K, 4), "labels": (K,) int64}`` dicts, as in deepkern.data.detection.
"""
from __future__ import annotations

import csv
import io
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

__all__ = ["parse_voc_xml", "load_voc_annotations", "load_raccoon"]


# ---- Pascal VOC XML -------------------------------------------------------------------------

def parse_voc_xml(path):
    """One Pascal VOC annotation file -> dict with ``filename``, ``width``, ``height``,
    ``boxes`` (K, 4) float32 (xmin, ymin, xmax, ymax exactly as written: VOC's 1-based pixel
    indices), ``names`` (K class names) and ``difficult`` (K,) bool."""
    root = ET.parse(path).getroot()
    if root.tag != "annotation":
        raise ValueError(f"parse_voc_xml: {path} has root <{root.tag}>, expected <annotation>")

    def text(node, tag, default=None):
        child = node.find(tag)
        if child is None or child.text is None:
            if default is not None:
                return default
            raise ValueError(f"parse_voc_xml: {path}: <{node.tag}> has no <{tag}>")
        return child.text.strip()

    size = root.find("size")
    boxes, names, difficult = [], [], []
    for obj in root.findall("object"):
        bb = obj.find("bndbox")
        if bb is None:
            raise ValueError(f"parse_voc_xml: {path}: <object> {text(obj, 'name')!r} has no <bndbox>")
        box = [float(text(bb, k)) for k in ("xmin", "ymin", "xmax", "ymax")]
        if box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"parse_voc_xml: {path}: box {box} has xmax < xmin or ymax < ymin")
        boxes.append(box)
        names.append(text(obj, "name"))
        difficult.append(text(obj, "difficult", "0") == "1")
    return {"filename": text(root, "filename"),
            "width": int(text(size, "width")) if size is not None else None,
            "height": int(text(size, "height")) if size is not None else None,
            "boxes": np.array(boxes, np.float32).reshape(-1, 4),
            "names": names,
            "difficult": np.array(difficult, bool)}


def load_voc_annotations(directory, classes=None):
    """Every ``*.xml`` in ``directory`` (sorted by name), parsed with :func:`parse_voc_xml`, each
    with ``labels`` (K,) int64 added: indices into ``classes`` (default: the sorted set of names
    found). Returns ``(annotations, classes)``."""
    files = sorted(Path(directory).glob("*.xml"))
    if not files:
        raise FileNotFoundError(f"load_voc_annotations: no *.xml files in {directory}")
    anns = [parse_voc_xml(f) for f in files]
    found = sorted({n for a in anns for n in a["names"]})
    classes = list(classes) if classes is not None else found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ValueError(f"load_voc_annotations: class names {unknown} are not in classes={classes}")
    for a in anns:
        a["labels"] = np.array([classes.index(n) for n in a["names"]], np.int64)
    return anns, classes


# ---- the raccoon photos (course demo; not shipped with deepkern) ------------------------------

def load_raccoon(root, split="train"):
    """The raccoon photos of the YOLO demo (datitran/raccoon_dataset, resized so the longer side
    is 224 px): ``root`` holds ``raccoon_224.zip`` and ``labels.csv`` (e.g.
    ``../shared/data/raccoon_small`` in a deepkern checkout). Returns ``(images, targets)``:
    a list of (H, W, 3) uint8 arrays and a list of ``{"boxes", "labels"}`` dicts (one class,
    label 0). Needs Pillow (``pip install deepkern[images]``)."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError("load_raccoon needs Pillow to decode JPEG: pip install pillow") from exc
    if split not in ("train", "test"):
        raise ValueError(f"load_raccoon: split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    names = sorted({r["filename"] for r in rows})
    images, targets = [], []
    with zipfile.ZipFile(root / "raccoon_224.zip") as z:
        for name in names:
            images.append(np.asarray(Image.open(io.BytesIO(z.read(f"images/{name}"))).convert("RGB")))
            boxes = [[float(r[k]) for k in ("xmin", "ymin", "xmax", "ymax")] for r in rows if r["filename"] == name]
            targets.append({"boxes": np.array(boxes, np.float32), "labels": np.zeros(len(boxes), np.int64)})
    return images, targets
