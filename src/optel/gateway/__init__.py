"""optel's ingestion gateway on rotel: ``optel gateway`` (needs ``pip install 'optel[gateway]'``).

Runs in the gateway process only: nothing on the host side imports this package.
"""
