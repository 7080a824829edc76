"""A host app that makes HTTP requests with one client library (tests/test_instrument_http.py).

``python http_host.py APP LIB PORT STALL_PORT REFUSED_PORT LOG_FILE [OPENAI_URL]``: instruments
httpx, httpx2, requests, aiohttp and openai (declaring the host ``localhost`` only) before any of them is
imported, then, inside a command, asks the local status server (tests/http_status_server.py) for
a 200 by the declared name, a streamed 200 whose body comes late, a 404 and a 500 by address, and
makes a request that is refused and one that times out (STALL_PORT never answers). Every URL
carries a secret path and query. LIB ``openai`` makes one chat call through the fake API instead
(by the declared name; the SDK sends with httpx2), then one plain httpx2 request.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

import optel

SECRET_PATH = "status-secret-path-7f3a"
SECRET_QUERY = "token=query-secret-91c2"
TIMEOUT = 0.5


def urls(port: int, stall: int, refused: int) -> dict[str, str]:
    tail = f"{SECRET_PATH}?{SECRET_QUERY}"
    return {
        "ok": f"http://localhost:{port}/status/200/{tail}",
        "stream": f"http://localhost:{port}/slow-body/{tail}",
        "not_found": f"http://127.0.0.1:{port}/status/404/{tail}",
        "server_error": f"http://127.0.0.1:{port}/status/500/{tail}",
        "refused": f"http://127.0.0.1:{refused}/{tail}",
        "timeout": f"http://127.0.0.1:{stall}/{tail}",
    }


def with_httpx(u: dict[str, str], name: str = "httpx") -> None:
    httpx = importlib.import_module(name)

    with httpx.Client(timeout=TIMEOUT) as client:
        assert client.get(u["ok"]).status_code == 200
        with client.stream("GET", u["stream"], timeout=5) as response:
            assert response.read() == b"late body"
        client.get(u["not_found"])
        client.get(u["server_error"])
        for key in ("refused", "timeout"):
            fails(lambda key=key: client.get(u[key]))
    asyncio.run(with_httpx_async(u, name))


async def with_httpx_async(u: dict[str, str], name: str) -> None:
    httpx = importlib.import_module(name)

    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        assert (await client.get(u["ok"])).status_code == 200


def with_requests(u: dict[str, str]) -> None:
    import requests

    with requests.Session() as session:
        assert session.get(u["ok"], timeout=TIMEOUT).status_code == 200
        with session.get(u["stream"], stream=True, timeout=5) as response:
            assert b"".join(response.iter_content(4)) == b"late body"
        session.get(u["not_found"], timeout=TIMEOUT)
        session.get(u["server_error"], timeout=TIMEOUT)
        for key in ("refused", "timeout"):
            fails(lambda key=key: session.get(u[key], timeout=TIMEOUT))
    assert requests.get(u["ok"], timeout=TIMEOUT).status_code == 200


def with_aiohttp(u: dict[str, str]) -> None:
    asyncio.run(_aiohttp(u))


async def _aiohttp(u: dict[str, str]) -> None:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
        async with session.get(u["ok"]) as response:
            assert response.status == 200
        async with session.get(u["stream"], timeout=aiohttp.ClientTimeout(total=5)) as response:
            assert await response.content.read() == b"late body"
        for key in ("not_found", "server_error"):
            async with session.get(u[key]) as response:
                await response.read()
        for key in ("refused", "timeout"):
            try:
                async with session.get(u[key]):
                    pass
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            else:
                raise AssertionError(f"{key} did not fail")
    async with aiohttp.ClientSession() as session, session.get(u["ok"]) as response:
        assert response.status == 200


def with_openai(openai_url: str, u: dict[str, str]) -> None:
    import httpx2
    import openai

    with openai.OpenAI(base_url=openai_url, api_key="test", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    # The SDK sends with httpx2: the same client, used by the host itself, is recorded.
    assert isinstance(client._client, httpx2.Client)
    httpx2.get(u["ok"])


def fails(request) -> None:
    try:
        request()
    except Exception:
        return
    raise AssertionError("the request did not fail")


@optel.command()
def fetch(lib: str, u: dict[str, str], openai_url: str) -> None:
    if lib == "openai":
        with_openai(openai_url, u)
    else:
        {
            "httpx": with_httpx,
            "httpx2": lambda u: with_httpx(u, "httpx2"),
            "requests": with_requests,
            "aiohttp": with_aiohttp,
        }[lib](u)
    refused_through_a_step(lib, u)


@optel.step()
def refused_through_a_step(lib: str, u: dict[str, str]) -> None:
    """A refused request whose exception goes through a step: its message quotes the URL."""
    if lib == "requests":
        import requests

        try:
            requests.get(u["refused"], timeout=TIMEOUT)
        except requests.ConnectionError as exc:
            raise RuntimeError(f"could not fetch: {exc}") from exc


def main(argv: list[str]) -> int:
    app, lib, port, stall, refused, log_file = argv[:6]
    openai_url = argv[6] if len(argv) > 6 else ""
    libraries = ("httpx", "httpx2", "requests", "aiohttp", "openai")
    optel.instrument(*libraries, http_hosts=["localhost"])
    assert not set(libraries) & set(sys.modules)
    optel.init(app, log_file=log_file)
    u = urls(int(port), int(stall), int(refused))
    try:
        fetch(lib, u, openai_url)
    except RuntimeError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
