"""nexus-registry: wire the components of one stack and export what users paste."""

import pulumi
import pulumiverse_acme as acme

from components.backup import DataDiskBackups, DataDiskBackupsArgs
from components.certificates import Certificates, CertificatesArgs, acme_server_url
from components.client_setup import client_setup
from components.database import NexusDatabase, NexusDatabaseArgs
from components.deployed import (
    DATA_DISK_OUTPUT,
    DATABASE_OUTPUT,
    VERSION_OUTPUT,
    guarded_data_disk_gb,
    guarded_database_engine,
    own_stack_reference,
)
from components.dns import DnsRecords, DnsRecordsArgs
from components.host import NexusHost, NexusHostArgs
from components.monitoring import CloudAlarms, CloudAlarmsArgs
from components.nexus_server import NexusServer, NexusServerArgs
from components.nginx import NginxProxy, NginxProxyArgs
from components.private_dns import ZONE_OUTPUT, PrivateDns, PrivateDnsArgs
from components.settings_loader import load_settings
from components.upgrade import guarded_version

settings = load_settings()

nexus_version = guarded_version(
    settings.nexus.version,
    settings.nexus.allow_downgrade,
    accept_community_caps=settings.nexus.accept_community_caps,
)
deployed = own_stack_reference()
database_engine = guarded_database_engine(settings, deployed)
cvm = settings.server.is_cvm
data_disk_gb = guarded_data_disk_gb(settings, deployed) if cvm else None
host = NexusHost("nexus-host", NexusHostArgs.from_settings(settings, data_disk_gb=data_disk_gb))
DnsRecords("nexus-dns", DnsRecordsArgs.from_settings(settings, public_ip=host.public_ip))
private_dns = None
if settings.private_dns_enabled and host.network is not None and host.private_ip is not None:
    private_dns = PrivateDns("nexus-private-dns", PrivateDnsArgs(
        settings=settings, vpc_id=host.network.vpc_id, private_ip=host.private_ip))
if host.instance is not None and settings.alerts.has_receivers:
    # The region is named explicitly: the binding's set hash covers it, so leaving it to the provider
    # (Read stores the provider's region) would replace the binding on every run.
    CloudAlarms("nexus-alarms", CloudAlarmsArgs(settings=settings, instance_id=host.instance.id,
                                                region=pulumi.Config("tencentcloud").require("region")))

acme_provider = acme.Provider("acme", server_url=acme_server_url(settings)) if settings.certificate == "acme" else None
certificates = Certificates(
    "nexus-certs", CertificatesArgs(settings=settings, public_ip=host.public_ip, acme_provider=acme_provider)
)

backups = DataDiskBackups(
    "nexus-backups",
    DataDiskBackupsArgs(
        settings=settings, storage_id=host.data_disk.id if host.data_disk is not None else None,
        connection=host.connection, ssh_user=host.ssh_user, nexus_version=nexus_version,
    ),
)

database = None
if settings.database.postgresql:
    database = NexusDatabase("nexus-database", NexusDatabaseArgs.from_settings(settings, network=host.network))

nexus = NexusServer(
    "nexus-server",
    NexusServerArgs(
        settings=settings, connection=host.connection, ssh_user=host.ssh_user, data_disk_id=host.data_disk_id,
        nexus_version=nexus_version, database=database.connection if database else None,
        database_engine=database_engine,
    ),
    opts=pulumi.ResourceOptions(depends_on=[backups]),
)
proxy = NginxProxy(
    "nexus-nginx",
    NginxProxyArgs(
        settings=settings, connection=host.connection, ssh_user=host.ssh_user,
        web_certificate=certificates.web, registry_certificate=certificates.registry,
    ),
    opts=pulumi.ResourceOptions(depends_on=[nexus.ready]),
)

pulumi.export("webUrl", f"https://{settings.web_fqdn}")
pulumi.export("registryHost", settings.registry_fqdn)
pulumi.export("publicIp", host.public_ip)
if host.private_ip is not None and host.network is not None:
    pulumi.export("privateIp", host.private_ip)
    pulumi.export("vpcId", host.network.vpc_id)
if private_dns is not None:
    pulumi.export(ZONE_OUTPUT, private_dns.zone_id)
pulumi.export("ssh", host.ssh_command)
pulumi.export("sshKnownHosts", host.known_hosts)
if host.generated_private_key is not None:
    pulumi.export("sshPrivateKey", host.generated_private_key)  # secret: make ssh STACK=... uses it
pulumi.export(VERSION_OUTPUT, nexus_version)
pulumi.export(DATABASE_OUTPUT, database_engine)
if data_disk_gb is not None:
    pulumi.export(DATA_DISK_OUTPUT, data_disk_gb)
for output_name, value in client_setup(settings).items():
    pulumi.export(output_name, value)
pulumi.export("webCertificateExpiresAt", certificates.web.expires_at)
pulumi.export("registryCertificateExpiresAt", certificates.registry.expires_at)
if certificates.ca_cert_pem is not None:
    pulumi.export("caCertPem", certificates.ca_cert_pem)
for role, record in certificates.validation_records.items():
    pulumi.export(f"{role}CertificateValidationRecord", record)
for output_name, value in {**host.decisions, **certificates.decisions}.items():
    pulumi.export(output_name, value)
