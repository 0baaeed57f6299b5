"""nexus-prepare-disk.sh, run for real with bash: finding the data disk (a by-id directory, stub
``blkid``/``lsblk``), formatting and mounting it (stub ``mkfs``/``mount``), refusing the root disk, and
the data directory's owner.  tests/system/test_data_disk.py runs the same script on a real loop device.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from components.render import nexus as render
from tests.support.commands import ok
from tests.support.host_scripts import run, stub, write_script
from tests.support.settings import make_settings

# --- host preparation: finding and preparing the data disk ---------------------------------------


@pytest.fixture
def prepare_disk(tmp_path) -> Path:
    return write_script(tmp_path, render.prepare_disk_files(make_settings("dev"), "disk-abc12345")[0])


def located(result) -> str:
    """The device the script chose, from its "data disk X is /dev/..." line."""
    return re.search(r"^nexus-prepare: data disk \S+ is (\S+)$", ok(result), re.M).group(1)


def locate(prepare: Path, by_id: Path, bin_dir: Path, disk: str = "disk-abc12345", kind: str = "cbs"):
    return run(prepare, {"NEXUS_PREPARE_STEPS": "locate", "NEXUS_DATA_DISK": disk, "NEXUS_DATA_DISK_KIND": kind,
                         "DISK_BY_ID_DIR": str(by_id), "DISK_WAIT_SECONDS": "0"}, bin_dir)


@pytest.fixture
def disks(tmp_path):
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    devices = tmp_path / "dev"
    devices.mkdir()
    for name in ("vda", "vdb", "vdc", "sdb"):
        (devices / name).touch()
    bin_dir = tmp_path / "bin"
    stub(bin_dir, "lsblk", f"cat '{tmp_path}/lsblk.out' 2>/dev/null || true\n")
    return by_id, devices, bin_dir


def test_the_cbs_disk_is_found_by_its_documented_by_id_link(prepare_disk, disks):
    by_id, devices, bin_dir = disks
    (by_id / "virtio-disk-other999").symlink_to(devices / "vdb")
    (by_id / "virtio-disk-abc12345").symlink_to(devices / "vdc")
    (by_id / "virtio-disk-abc12345-part1").symlink_to(devices / "vda")
    assert located(locate(prepare_disk, by_id, bin_dir)) == str(devices / "vdc")


def test_another_bus_is_matched_by_the_id_at_the_end_of_its_link(prepare_disk, disks):
    by_id, devices, bin_dir = disks
    (by_id / "scsi-0QEMU_QEMU_HARDDISK_disk-abc12345").symlink_to(devices / "sdb")
    (by_id / "scsi-0QEMU_QEMU_HARDDISK_disk-abc12345-part1").symlink_to(devices / "vda")
    assert located(locate(prepare_disk, by_id, bin_dir)) == str(devices / "sdb")


def test_without_a_udev_link_the_serial_is_matched(prepare_disk, disks, tmp_path):
    by_id, _, bin_dir = disks
    (tmp_path / "lsblk.out").write_text("vda \nvdb disk-other999\nvdc disk-abc12345\n")
    assert located(locate(prepare_disk, by_id, bin_dir)) == "/dev/vdc"


def test_a_missing_disk_fails_after_a_bounded_wait(prepare_disk, disks, tmp_path):
    by_id, devices, bin_dir = disks
    (by_id / "virtio-disk-other999").symlink_to(devices / "vdb")
    (tmp_path / "lsblk.out").write_text("vdb disk-other999\n")
    result = locate(prepare_disk, by_id, bin_dir)
    assert result.returncode != 0 and "data disk disk-abc12345 not found after 0s" in result.stderr


def test_an_existing_server_uses_its_configured_device_path(prepare_disk, disks):
    by_id, devices, bin_dir = disks
    (by_id / "virtio-data01").symlink_to(devices / "vdb")
    assert located(locate(prepare_disk, by_id, bin_dir, disk=str(by_id / "virtio-data01"), kind="device")) == \
        str(devices / "vdb")


class Disk:
    """A real block-special node (never opened) plus stub blkid/lsblk/findmnt/mkfs/mount keeping state in files."""

    def __init__(self, tmp_path: Path, prepare: Path):
        self.prepare = prepare
        self.state = tmp_path / "stub"
        self.state.mkdir()
        self.device = tmp_path / "vdb"
        try:
            os.mknod(self.device, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
        except PermissionError:
            pytest.fail("creating a block device node needs root (CI runs as root); this test never skips")
        self.by_id = tmp_path / "by-id"
        self.by_id.mkdir()
        (self.by_id / "virtio-disk-abc12345").symlink_to(self.device)
        self.mount_point = tmp_path / "srv" / "nexus"
        self.fstab = tmp_path / "fstab"
        self.fstab.write_text("# /etc/fstab\nUUID=0a1b-root / ext4 defaults 0 1\n")
        self.bin = tmp_path / "bin"
        s = self.state
        stub(self.bin, "blkid", f"""field=""; dev="${{!#}}"
while (($#)); do [[ $1 == -s ]] && field=$2; shift; done
case "$field" in
  TYPE) cat '{s}/fstype' 2>/dev/null || exit 2 ;;
  PTTYPE) cat '{s}/pttype' 2>/dev/null || exit 2 ;;
  UUID) cat '{s}/uuid' 2>/dev/null || exit 2 ;;
esac
""")
        stub(self.bin, "lsblk", f"echo vdb; cat '{s}/children' 2>/dev/null || true\n")
        stub(self.bin, "findmnt", f"""if [[ " $* " == *" --source "* ]]; then
  cat '{s}/source-target' 2>/dev/null || true
else
  cat '{s}/mounted' 2>/dev/null || true
fi
""")
        stub(self.bin, "mkfs.ext4", f"echo \"$*\" >>'{s}/mkfs.log'; echo ext4 >'{s}/fstype'; "
                                    f"echo 5e1f-data >'{s}/uuid'\n")
        stub(self.bin, "mount", f"echo \"$*\" >>'{s}/mount.log'; echo '{self.device}' >'{s}/mounted'\n")
        stub(self.bin, "fake-systemctl", f"echo \"$*\" >>'{s}/systemctl.log'\n")

    def run(self):
        return run(self.prepare, {"NEXUS_PREPARE_STEPS": "disk", "NEXUS_DATA_DISK": "disk-abc12345",
                                  "NEXUS_DATA_DISK_KIND": "cbs", "DISK_BY_ID_DIR": str(self.by_id),
                                  "DISK_WAIT_SECONDS": "0", "NEXUS_MOUNT_POINT": str(self.mount_point),
                                  "FSTAB": str(self.fstab), "SYSTEMCTL": str(self.bin / "fake-systemctl")}, self.bin)

    def log(self, name: str) -> list[str]:
        path = self.state / name
        return path.read_text().splitlines() if path.exists() else []


# Formatting, keeping and refusing a data disk run against real loop devices: test_data_disk.py.


def test_the_root_disk_is_refused(prepare_disk, tmp_path):
    disk = Disk(tmp_path, prepare_disk)
    (disk.state / "source-target").write_text("/\n")
    result = disk.run()
    assert result.returncode != 0 and "holds the root filesystem" in result.stderr
    assert disk.log("mkfs.log") == []


def test_without_a_data_disk_nexus_lives_on_the_root_disk(tmp_path):
    script = write_script(tmp_path, render.prepare_disk_files(make_settings("lab"))[0])
    mount_point = tmp_path / "srv" / "nexus"
    out = ok(run(script, {"NEXUS_PREPARE_STEPS": "disk", "NEXUS_MOUNT_POINT": str(mount_point),
                          "FSTAB": str(tmp_path / "fstab-untouched")}))
    assert mount_point.is_dir() and "on the root disk" in out
    assert not (tmp_path / "fstab-untouched").exists()


def test_the_data_directory_belongs_to_the_nexus_uid(prepare_disk, tmp_path):
    uid = 200 if os.geteuid() == 0 else os.getuid()
    data = tmp_path / "srv" / "nexus" / "nexus-data"
    (data / "db").mkdir(parents=True)
    ok(run(prepare_disk, {"NEXUS_PREPARE_STEPS": "datadir", "NEXUS_DATA_DIR": str(data), "NEXUS_UID": str(uid)}))
    assert data.stat().st_uid == uid and (data / "db").stat().st_uid == uid
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
