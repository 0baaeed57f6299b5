"""DnsRecords: DNSPod A records that point both hostnames at the host.

``dns: dnspod`` creates ``<webHost>.<domain>`` and ``<registryHost>.<domain>``
in the DNSPod zone ``domain`` (which must already be on the same Tencent
account); ``dns: none`` registers nothing and leaves DNS to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from tencentcloud_iac_pulumi import dnspod

from components.settings import Settings

RECORD_TTL_SECONDS = 600


@dataclass(frozen=True)
class DnsRecordsArgs:
    settings: Settings
    public_ip: pulumi.Input[str]


class DnsRecords(pulumi.ComponentResource):
    """A records for the web UI and registry hostnames (or none)."""

    records: dict[str, dnspod.Record]

    def __init__(self, name: str, args: DnsRecordsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:dns:DnsRecords", name, None, opts)
        settings = args.settings
        self.records = {}
        if settings.dns == "dnspod":
            for role, label in (("web", settings.web_host), ("registry", settings.registry_host)):
                self.records[role] = dnspod.Record(
                    f"{name}-{role}",
                    domain=settings.domain,
                    sub_domain=label,
                    record_type="A",
                    record_line="默认",  # DNSPod's name for the default line; the API accepts no other spelling
                    value=args.public_ip,
                    ttl=RECORD_TTL_SECONDS,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({role: record.id for role, record in self.records.items()})
