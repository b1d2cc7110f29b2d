"""`kubectl pullcheck stats`: pull attempts, failures and pull times by registry and node, from the events
the cluster still holds, judged against the alert thresholds. Entry point: pullcheck.stats.command.run_stats.
"""
