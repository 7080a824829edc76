"""Stands for the library being instrumented (an SDK you do not maintain); not part of the package."""


class Client:
    def fetch(self, key: str) -> str:
        return f"value of {key}"
