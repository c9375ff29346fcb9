"""The node image and the stack's other images: which to use, and building ours when the source changed.

Kept apart from running a stack: `loadcluster image` and `make image` build without running anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from loadcluster.errors import ConfigError
from loadcluster.runtimes.docker import Docker, image_for_source

SOURCE_TREE = Path(__file__).resolve().parents[3]
SOURCE_LABEL = "org.loadcluster.source"
DEFAULT_BASE_IMAGE = "python:3.12-slim"
DEFAULT_PROMETHEUS_IMAGE = "prom/prometheus:v2.53.2"
# Built by deploy/base-image/build.sh on sites without a registry; used when present.
AIRGAP_BASE_IMAGE = "loadcluster/base:bookworm"
AIRGAP_PROMETHEUS_IMAGE = "loadcluster/prometheus:bookworm"


def ensure_image(docker: Docker, values: Mapping[str, Any], say: Callable[[str], None]) -> str:
    """The node image, built from this source tree when it is missing or older than the source."""
    image: str = values["image"]
    wanted = image_for_source(SOURCE_TREE)
    if wanted is None:  # installed without the source tree: the image must exist
        if not docker.has_image(image):
            raise ConfigError(f"image {image} not found: build it from a loadcluster checkout (`make image`)")
        return image
    if docker.image_label(image, SOURCE_LABEL) == wanted:
        return image
    base = values.get("base_image") or (
        AIRGAP_BASE_IMAGE if docker.has_image(AIRGAP_BASE_IMAGE) else DEFAULT_BASE_IMAGE
    )
    say(f"building image {image} from {base} (the source changed or the image is missing)")
    docker.build(SOURCE_TREE, image, base, labels={SOURCE_LABEL: wanted})
    return image


def prometheus_image(docker: Docker, values: Mapping[str, Any]) -> str:
    explicit: str | None = values.get("prometheus_image")
    if explicit:
        return explicit
    if not docker.has_image(DEFAULT_PROMETHEUS_IMAGE) and docker.has_image(AIRGAP_PROMETHEUS_IMAGE):
        return AIRGAP_PROMETHEUS_IMAGE
    return DEFAULT_PROMETHEUS_IMAGE
