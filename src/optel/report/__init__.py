"""`optel report`: read what optel wrote (audit log, spool, a collector's OTLP JSON file) and show it.

Only `optel report` imports this package: the host side never does.
"""
