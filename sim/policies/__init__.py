"""Scheduling policies, one module each. Each registers itself with `@register`; `sim.policies.base`
finds them by importing every module of this package (no list to edit), and installed plug-ins by
the `trnsim.policies` entry-point group (docs/policies.md)."""
