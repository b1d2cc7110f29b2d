"""`kubectl pullcheck scan`: every pod with a pull problem in a namespace or the cluster, grouped."""
