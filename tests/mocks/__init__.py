"""Mocked provider answers, one module per provider, each following that provider's own source.

``tencentcloud`` follows terraform-provider-tencentcloud v1.82.42 (the version
tencentcloud-iac-pulumi 0.2.3 wraps); ``tls`` and ``acme`` give the computed
outputs nginx consumes; ``pulumi`` answers the engine's built-in StackReference.
Every answer is in the camelCase the engine hands a Pulumi program.
"""
