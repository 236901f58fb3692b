"""Accounts, roles and the secrecy of plans: who may see and do what, checked in the library."""
