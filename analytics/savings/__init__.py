"""Measured and verified savings of retrofit projects (IPMVP Option C/B, GB/T 28750): docs/savings.md."""
