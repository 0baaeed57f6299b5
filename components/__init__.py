"""nexus-registry: Nexus 3 behind nginx on Tencent Cloud, one Pulumi stack per registry."""
