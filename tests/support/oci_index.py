"""A multi-platform OCI image index with attestation manifests, written offline as an OCI layout.

What ``docker buildx build --platform linux/amd64,linux/arm64 --push`` sends by default
since BuildKit 0.11 (and Docker 29): an index with one image manifest per platform plus,
for each, an attestation manifest on the platform ``unknown/unknown`` whose annotations
point at the image it describes (``vnd.docker.reference.type: attestation-manifest``,
``vnd.docker.reference.digest``) and whose single layer is an in-toto statement.  Every
blob is made here (no network), so a test knows each digest a registry must give back.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v0.2"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def json(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass(frozen=True)
class PlatformImage:
    os: str
    architecture: str
    manifest: Descriptor
    config: Descriptor
    layer: Descriptor
    attestation: Descriptor


@dataclass(frozen=True)
class OciIndex:
    layout: Path
    tag: str
    index: Descriptor
    images: tuple[PlatformImage, ...]

    def blob(self, digest: str) -> bytes:
        return (self.layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()

    def image(self, architecture: str) -> PlatformImage:
        return next(image for image in self.images if image.architecture == architecture)

    @property
    def manifests(self) -> list[Descriptor]:
        """Every manifest of the index: images and attestations."""
        return [d for image in self.images for d in (image.manifest, image.attestation)]


def _blob(layout: Path, data: bytes, media_type: str) -> Descriptor:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return Descriptor(media_type, f"sha256:{digest}", len(data))


def _json_blob(layout: Path, document: dict, media_type: str) -> Descriptor:
    return _blob(layout, json.dumps(document, sort_keys=True, separators=(",", ":")).encode(), media_type)


def _layer(content: bytes, name: str) -> tuple[bytes, str]:
    """A gzip'd tar holding one file; returns (compressed bytes, diff_id of the tar)."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(content), 0o644, 0
        tar.addfile(info, io.BytesIO(content))
    plain = tar_bytes.getvalue()
    return gzip.compress(plain, mtime=0), f"sha256:{hashlib.sha256(plain).hexdigest()}"


def write_oci_index(layout: Path, tag: str = "1",
                    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64"))) -> OciIndex:
    """An OCI layout whose ``tag`` is an index of ``platforms`` plus one attestation manifest each."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    images, entries = [], []
    for os_name, architecture in platforms:
        compressed, diff_id = _layer(f"built for {os_name}/{architecture}\n".encode(), "etc/platform")
        layer = _blob(layout, compressed, OCI_LAYER)
        config = _json_blob(layout, {"architecture": architecture, "os": os_name, "config": {},
                                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}}, OCI_CONFIG)
        manifest = _json_blob(layout, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.json(),
                                       "layers": [layer.json()]}, OCI_MANIFEST)
        statement = _json_blob(layout, {
            "_type": "https://in-toto.io/Statement/v0.1", "predicateType": SLSA_PROVENANCE,
            "subject": [{"name": f"pkg:docker/team/multi@{tag}?platform={os_name}%2F{architecture}",
                         "digest": {"sha256": manifest.digest.removeprefix("sha256:")}}],
            "predicate": {"builder": {"id": "nexus-registry tests"}, "buildType": "offline"}}, IN_TOTO)
        attestation_config = _json_blob(layout, {
            "architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [statement.digest]}}, OCI_CONFIG)
        attestation = _json_blob(layout, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": attestation_config.json(),
            "layers": [statement.json(annotations={"in-toto.io/predicate-type": SLSA_PROVENANCE})]}, OCI_MANIFEST)
        images.append(PlatformImage(os_name, architecture, manifest, config, layer, attestation))
        entries.append(manifest.json(platform={"architecture": architecture, "os": os_name}))
    for image in images:
        entries.append(image.attestation.json(
            platform={"architecture": "unknown", "os": "unknown"},
            annotations={"vnd.docker.reference.digest": image.manifest.digest,
                         "vnd.docker.reference.type": "attestation-manifest"}))
    index = _json_blob(layout, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, OCI_INDEX)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        index.json(annotations={"org.opencontainers.image.ref.name": tag})]}))
    return OciIndex(layout, tag, index, tuple(images))
