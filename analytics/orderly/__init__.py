"""Orderly power use without blanket cuts (有序用电, issue 18): flexibility per enterprise from its meters, a
differentiated plan, and verification from the meters (docs/orderly.md)."""
