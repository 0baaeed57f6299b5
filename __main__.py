"""nexus-registry: wire the components of one stack and export what users paste."""

import pulumi

from components import settings as stack_settings
from components.backup import DataDiskBackups, DataDiskBackupsArgs
from components.client_setup import client_setup
from components.dns import DnsRecords, DnsRecordsArgs
from components.host import NexusHost, NexusHostArgs
from components.upgrade import VERSION_OUTPUT, guarded_version

settings = stack_settings.from_pulumi()

nexus_version = guarded_version(settings.nexus.version, settings.nexus.allow_downgrade)
host = NexusHost("nexus-host", NexusHostArgs(settings=settings))
DnsRecords("nexus-dns", DnsRecordsArgs(settings=settings, public_ip=host.public_ip))
if host.data_disk is not None:
    DataDiskBackups("nexus-backups", DataDiskBackupsArgs(settings=settings, storage_id=host.data_disk.id))

pulumi.export("webUrl", f"https://{settings.web_fqdn}")
pulumi.export("registryHost", settings.registry_fqdn)
pulumi.export("publicIp", host.public_ip)
pulumi.export("ssh", host.ssh_command)
pulumi.export(VERSION_OUTPUT, nexus_version)
for output_name, value in client_setup(settings).items():
    pulumi.export(output_name, value)
