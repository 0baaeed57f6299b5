"""The prepare step's data-disk logic against real block devices (loop devices), never stubs.

Each test backs a loop device with a sparse file, puts on it what a real disk
may hold (nothing, ext4 holding a file, ext4 plus a stale ISO9660 signature, a
GPT partition table), and runs the rendered ``nexus-prepare-host.sh`` with
only its ``disk`` step, in a private mount namespace (so its mount dies with
the test) with the real ``blkid``, ``wipefs``, ``mkfs.ext4`` and ``mount``.

The rule under test (Pitfall 15): format only when ``blkid -p`` exits 2 and
``wipefs`` lists no signature, and on an existing server only with
``server.formatDataDevice``; keep a single filesystem; refuse anything else,
naming what was found, without writing to the disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.render import nexus as render
from tests.harness import LAB_HOST_KEY
from tests.support.commands import ok
from tests.support.settings import make_settings

TOOLS = ("losetup", "blkid", "wipefs", "mkfs.ext4", "sfdisk", "unshare", "mount", "findmnt", "lsblk")
DATA = "kept across deploys\n"


def existing(format_data_device: bool):
    return make_settings("lab", server={"mode": "existing", "address": "10.0.8.15", "hostKey": LAB_HOST_KEY,
                                        "dataDevice": "/dev/disk/by-id/virtio-data01",
                                        "formatDataDevice": format_data_device})


class LoopDisk:
    def __init__(self, tmp_path: Path):
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        assert not missing, f"data-disk tests need {missing} (util-linux, e2fsprogs, fdisk); they never skip"
        assert os.geteuid() == 0, "data-disk tests need root for loop devices (CI runs as root); they never skip"
        self.tmp = tmp_path
        self.image = tmp_path / "disk.img"
        with open(self.image, "wb") as image:
            image.truncate(64 << 20)
        self.device = subprocess.run(["losetup", "--find", "--show", "--partscan", str(self.image)],
                                     check=True, capture_output=True, text=True).stdout.strip()
        self.by_id = tmp_path / "by-id"
        self.by_id.mkdir()
        (self.by_id / "virtio-data01").symlink_to(self.device)
        self.mount_point = tmp_path / "srv" / "nexus"
        self.fstab = tmp_path / "fstab"
        self.fstab.write_text("# /etc/fstab\nUUID=0a1b-root / ext4 defaults 0 1\n")

    def close(self) -> None:
        subprocess.run(["losetup", "--detach", self.device], check=False)

    def sh(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)

    def ext4_with_data(self) -> None:
        """ext4 (4 KiB blocks, like any real data disk) holding one file."""
        subprocess.run(["mkfs.ext4", "-q", "-b", "4096", self.device], check=True)
        assert self.read_data(write=True) == DATA

    def read_data(self, write: bool = False) -> str:
        """Mount the ext4 explicitly (-t ext4 works even next to a second signature) in a private namespace."""
        mount_dir = self.tmp / "inspect"
        mount_dir.mkdir(exist_ok=True)
        action = f"printf %s '{DATA}' > {mount_dir}/data; sync" if write else f"cat {mount_dir}/data"
        result = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c",
             f"mount -t ext4 {'-o ro ' if not write else ''}{self.device} {mount_dir} && {action}"],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout if not write else DATA

    def uuid(self) -> str:
        return subprocess.run(["blkid", "-p", "-s", "UUID", "-o", "value", self.device],
                              capture_output=True, text=True).stdout.strip()

    def prepare(self, settings, after: str = "true") -> subprocess.CompletedProcess:
        """The disk step of the rendered script, then ``after``, in one private mount namespace."""
        script = self.tmp / "nexus-prepare-disk.sh"
        script.write_text(render.prepare_disk_files(settings)[0].content)
        env = {**os.environ, "NEXUS_PREPARE_STEPS": "disk", "DISK_WAIT_SECONDS": "0",
               "NEXUS_DATA_DISK": str(self.by_id / "virtio-data01"), "NEXUS_MOUNT_POINT": str(self.mount_point),
               "FSTAB": str(self.fstab), "SYSTEMCTL": "true"}
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", f'bash "$0" && {after}', str(script)],
            env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def disk(tmp_path):
    loop = LoopDisk(tmp_path)
    yield loop
    loop.close()


def test_an_empty_disk_is_formatted_once_mounted_by_uuid_and_kept_afterwards(disk):
    assert disk.sh(f"blkid -p {disk.device}").returncode == 2  # really empty
    out = ok(disk.prepare(existing(True), after=f"findmnt -rn -o SOURCE,FSTYPE --mountpoint {disk.mount_point}"))
    assert "formatting empty disk" in out
    assert f"{disk.device} ext4" in out  # the mount the script made
    uuid = disk.uuid()
    assert uuid
    fstab = disk.fstab.read_text().splitlines()
    assert fstab[:2] == ["# /etc/fstab", "UUID=0a1b-root / ext4 defaults 0 1"]
    assert fstab[3] == f"UUID={uuid} {disk.mount_point} ext4 defaults,nofail 0 2"
    # Second run: the filesystem is kept (same UUID), fstab unchanged.
    before = disk.fstab.read_text()
    out = ok(disk.prepare(existing(True)))
    assert "keeping its data" in out and "formatting" not in out
    assert disk.uuid() == uuid and disk.fstab.read_text() == before


def test_an_empty_disk_of_an_existing_server_needs_the_explicit_opt_in(disk):
    result = disk.prepare(existing(False))
    assert result.returncode != 0
    assert "is empty (blkid and wipefs find no signature)" in result.stderr
    assert "server.formatDataDevice: true" in result.stderr
    assert disk.sh(f"blkid -p {disk.device}").returncode == 2  # still untouched
    assert "nexus" not in disk.fstab.read_text()


def test_ext4_holding_data_is_kept_and_mounted(disk):
    disk.ext4_with_data()
    uuid = disk.uuid()
    out = ok(disk.prepare(existing(True), after=f"cat {disk.mount_point}/data"))
    assert "already holds a ext4 filesystem: keeping its data" in out
    assert out.endswith(DATA)  # read through the mount the script made
    assert disk.uuid() == uuid
    assert f"UUID={uuid} {disk.mount_point} ext4 defaults,nofail 0 2" in disk.fstab.read_text()


@pytest.mark.parametrize("format_data_device", [True, False])
def test_ext4_plus_a_stale_iso9660_signature_is_refused_with_its_data_intact(disk, format_data_device):
    disk.ext4_with_data()
    uuid = disk.uuid()
    # An ISO9660 primary volume descriptor at 32 KiB, as a stale image written over the disk leaves it.
    with open(disk.device, "r+b") as device:
        device.seek(32768)
        device.write(b"\x01CD001\x01")
    assert disk.sh(f"blkid -p {disk.device}").returncode == 8  # blkid: ambivalent, prints no TYPE
    assert disk.sh(f"blkid -p -s TYPE -o value {disk.device}").stdout == ""  # what the old script read as "empty"

    result = disk.prepare(existing(format_data_device))
    assert result.returncode != 0
    assert f"refusing to use {disk.device}" in result.stderr
    assert "several signatures" in result.stderr and "ext4" in result.stderr and "iso9660" in result.stderr
    assert "Nothing was written to it" in result.stderr
    assert disk.read_data() == DATA
    assert disk.sh(f"blkid -p -n ext4 -s UUID -o value {disk.device}").stdout.strip() == uuid
    assert "nexus" not in disk.fstab.read_text()


def test_a_partition_table_is_refused(disk):
    subprocess.run(["sfdisk", "--quiet", disk.device], input="label: gpt\n,32M,L\n", text=True, check=True,
                   capture_output=True)
    table = disk.sh(f"sfdisk --dump {disk.device}").stdout
    result = disk.prepare(existing(True))
    assert result.returncode != 0
    assert "has a gpt partition table" in result.stderr and "Nothing was written to it" in result.stderr
    assert disk.sh(f"sfdisk --dump {disk.device}").stdout == table  # the table is untouched
    assert "nexus" not in disk.fstab.read_text()


def test_a_cvm_disk_needs_no_opt_in_but_gets_the_same_refusals(disk):
    settings = make_settings("dev")
    rendered = {name: render.prepare_disk_files(value, "disk-1")[0].content
                for name, value in (("cvm", settings), ("existing", existing(False)), ("opt-in", existing(True)))}
    assert "NEXUS_FORMAT_EMPTY_DISK=${NEXUS_FORMAT_EMPTY_DISK-yes}" in rendered["cvm"]
    assert "NEXUS_FORMAT_EMPTY_DISK=${NEXUS_FORMAT_EMPTY_DISK-no}" in rendered["existing"]
    assert "NEXUS_FORMAT_EMPTY_DISK=${NEXUS_FORMAT_EMPTY_DISK-yes}" in rendered["opt-in"]
    disk.ext4_with_data()
    with open(disk.device, "r+b") as device:
        device.seek(32768)
        device.write(b"\x01CD001\x01")
    script = disk.tmp / "cvm-prepare.sh"
    script.write_text(render.prepare_disk_files(settings, "disk-abc12345")[0].content)
    env = {**os.environ, "NEXUS_PREPARE_STEPS": "disk", "DISK_WAIT_SECONDS": "0", "NEXUS_DATA_DISK_KIND": "device",
           "NEXUS_DATA_DISK": str(disk.by_id / "virtio-data01"), "NEXUS_MOUNT_POINT": str(disk.mount_point),
           "FSTAB": str(disk.fstab), "SYSTEMCTL": "true"}
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", str(script)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "several signatures" in result.stderr
    assert disk.read_data() == DATA
