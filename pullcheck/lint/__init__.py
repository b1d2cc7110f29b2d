"""`kubectl pullcheck lint`: check the images of workload manifests before `kubectl apply` (CI), or of what
is deployed (--live), for the mistakes that end in ImagePullBackOff or in surprise rollouts.

Modules, one job each: manifests (files, directories, stdin; YAML streams, Lists, JSON; line numbers),
live (the same from the API), rules (the rules, their severities and the findings; see its docstring),
render (table, wide, json, yaml, github), command (run_lint, the one entry point for the CLI).
Importing this package loads nothing else.
"""
from __future__ import annotations
