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
    dns: str
    """``dns``: ``dnspod`` creates the records, ``none`` nothing."""
    domain: str
    web_host: str
    registry_host: str
    public_ip: pulumi.Input[str]

    @classmethod
    def from_settings(cls, settings: Settings, public_ip: pulumi.Input[str]) -> DnsRecordsArgs:
        return cls(dns=settings.dns, domain=settings.domain, web_host=settings.web_host,
                   registry_host=settings.registry_host, public_ip=public_ip)


class DnsRecords(pulumi.ComponentResource):
    """A records for the web UI and registry hostnames (or none)."""

    records: dict[str, dnspod.Record]

    def __init__(self, name: str, args: DnsRecordsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nexus-registry:dns:DnsRecords", name, None, opts)
        self.records = {}
        if args.dns == "dnspod":
            for role, label in (("web", args.web_host), ("registry", args.registry_host)):
                self.records[role] = dnspod.Record(
                    f"{name}-{role}",
                    domain=args.domain,
                    sub_domain=label,
                    record_type="A",
                    record_line="默认",  # DNSPod's name for the default line; the API accepts no other spelling
                    value=args.public_ip,
                    ttl=RECORD_TTL_SECONDS,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({role: record.id for role, record in self.records.items()})
