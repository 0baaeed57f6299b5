"""nexus-registry: wire the components of one stack and export what users paste."""

import pulumi

from components import settings as stack_settings
from components.dns import DnsRecords, DnsRecordsArgs
from components.host import NexusHost, NexusHostArgs

settings = stack_settings.from_pulumi()

host = NexusHost("nexus-host", NexusHostArgs(settings=settings))
DnsRecords("nexus-dns", DnsRecordsArgs(settings=settings, public_ip=host.public_ip))

pulumi.export("webUrl", f"https://{settings.web_fqdn}")
pulumi.export("registryHost", settings.registry_fqdn)
pulumi.export("publicIp", host.public_ip)
pulumi.export("ssh", host.ssh_command)
