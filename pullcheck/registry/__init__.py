"""Registry probe: check one image against its registry from the workstation, step by step.

Importing this package is cheap: httpx/httpcore and dnspython load only when a probe runs.
"""
from __future__ import annotations

from pullcheck.registry.model import (CAUSES, Credential, Platform, ProbeOptions, ProbeReport, StepResult,
                                      Target)


def probe_image(target, credentials, options):
    """Probe one image; see pullcheck.registry.probe.probe_image."""
    from pullcheck.registry.probe import probe_image as run

    return run(target, credentials, options)


def probe_images(targets_with_credentials, options):
    """Probe several images concurrently; see pullcheck.registry.probe.probe_images."""
    from pullcheck.registry.probe import probe_images as run

    return run(targets_with_credentials, options)


__all__ = ["CAUSES", "Credential", "Platform", "ProbeOptions", "ProbeReport", "StepResult", "Target",
           "probe_image", "probe_images"]
