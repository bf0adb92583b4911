"""`enerdiag scheduler`: every periodic job on its cadence, shared by replicas through leases in the registry."""
