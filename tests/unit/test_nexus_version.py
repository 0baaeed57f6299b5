"""NexusVersion: the one parser of a sonatype/nexus3 version, and the orderings the upgrade guard relies on."""

from __future__ import annotations

import pytest

from components.render.nexus import digest_release
from components.render.nexus_database import host_files
from components.settings import (
    DEFAULT_NEXUS_VERSION,
    FIRST_H2_RELEASE,
    IMAGE_TAG_VARIANTS,
    LOWER_CAPS_RELEASE,
    NexusVersion,
    from_mapping,
)
from components.upgrade import advisories, check_version_change
from tests.harness import stack_config, stack_settings


@pytest.mark.parametrize("text, release, build, variant, dotted, download", [
    ("3.93.2", (3, 93, 2), "", "", "3.93.2", "3.93.2"),
    ("3.93.2-java17-ubi", (3, 93, 2), "", "-java17-ubi", "3.93.2", "3.93.2"),
    ("3.90.3-01", (3, 90, 3), "01", "", "3.90.3", "3.90.3-01"),
    ("3.90.3-01-java17-ubi", (3, 90, 3), "01", "-java17-ubi", "3.90.3", "3.90.3-01"),
    ("3.100.0-alpine", (3, 100, 0), "", "-alpine", "3.100.0", "3.100.0"),
])
def test_a_version_is_parsed_into_release_build_and_variant(text, release, build, variant, dotted, download):
    version = NexusVersion.parse(text)
    assert (version.release, version.build, version.variant) == (release, build, variant)
    assert (version.dotted, version.download_name, str(version)) == (dotted, download, text)


@pytest.mark.parametrize("text", ["latest", "", "3", "3.93"])
def test_text_that_names_no_release_parses_to_release_zero(text):
    # Settings refuse such a tag; parsing stays total so rendering and comparing never crash.
    assert NexusVersion.parse(text).release == (0, 0, 0)
    assert not NexusVersion.is_image_tag(text)


def test_versions_order_by_release_numerically():
    assert NexusVersion.parse("3.100.0") > NexusVersion.parse("3.99.9")
    assert NexusVersion.parse("3.9.10") > NexusVersion.parse("3.9.9")
    assert sorted(map(NexusVersion.parse, ["3.87.0", "3.100.1", "3.9.0"])) == list(
        map(NexusVersion.parse, ["3.9.0", "3.87.0", "3.100.1"]))


def test_a_variant_is_neither_older_nor_newer_than_its_release():
    plain, variant = NexusVersion.parse("3.86.2"), NexusVersion.parse("3.86.2-java17")
    assert not plain < variant and not variant < plain
    assert plain <= variant and variant <= plain
    assert plain != variant  # still two different tags
    assert check_version_change("3.86.2", "3.86.2-java17") == "3.86.2-java17"
    assert check_version_change("3.86.2-java17", "3.86.2") == "3.86.2"


def test_versions_do_not_compare_with_plain_tuples():
    with pytest.raises(TypeError):
        _ = NexusVersion.parse("3.93.2") < (3, 94, 0)


def test_image_tags_are_exactly_the_published_forms():
    for variant in IMAGE_TAG_VARIANTS:
        assert NexusVersion.is_image_tag(f"3.93.2{variant}"), variant
    for text in ("3.93.2-01", "3.93.2-java21", "3.93.2\n", "2.15.1", "3.093.2", "latest", "3.93.2-01-java17"):
        assert not NexusVersion.is_image_tag(text), text


def test_release_thresholds_sit_where_their_features_change():
    assert NexusVersion.parse("3.70.1") < FIRST_H2_RELEASE <= NexusVersion.parse("3.71.0-java17")
    assert NexusVersion.parse("3.86.9") < LOWER_CAPS_RELEASE <= NexusVersion.parse("3.87.0")
    assert stack_settings("dev").nexus.version_info == NexusVersion.parse(DEFAULT_NEXUS_VERSION)


def test_advisories_compare_releases_including_variants():
    assert any("CVE-2026-3199" in line for line in advisories("3.90.0-java17-ubi"))
    assert not any("CVE-2026-3199" in line for line in advisories("3.91.0-alpine"))
    assert any("SSRF protection" in line for line in advisories("3.91.9"))


def test_the_digest_label_check_names_the_release_without_the_variant():
    settings = stack_settings("dev")
    nexus = settings.nexus.model_copy(update={"version": "3.93.2-java17-ubi", "image_digest": "sha256:" + "a" * 64})
    assert digest_release(settings.model_copy(update={"nexus": nexus})) == "3.93.2"
    assert digest_release(settings) == ""


def test_the_migrator_of_a_variant_tag_is_named_by_its_release_and_build():
    config = stack_config("dev", {"database": {"engine": "postgresql", "migrateFromH2": True,
                                               "migratorVersion": "3.90.3-04", "migratorSha256": "a" * 64},
                                  "nexus": {"version": "3.90.3-java17-ubi"}})
    (script,) = host_files(from_mapping("dev", config))
    assert "/nexus-db-migrator-3.90.3-04.jar" in script.content
