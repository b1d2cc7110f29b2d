"""Real components the probe tests run against: docker-registry in several modes, a token
server, an image pusher, a tiny DNS server and misbehaving peers. All loopback, all
ephemeral ports. Session fixtures are in tests.harness.fixtures."""

# The one account every authenticating registry and the token server accept.
USER = "testuser"
PASSWORD = "testpass"
