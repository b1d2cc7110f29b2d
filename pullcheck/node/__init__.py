"""Node probes: run probe.sh on a node in a short-lived privileged pod and read back what it found."""
