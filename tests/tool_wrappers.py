"""Entry-point wrappers that add optel to three real tools without editing them (docs/guide.md).

Shared by the end-to-end tests (tests/test_e2e_tools.py) and the startup benchmark
(benchmarks/bench_instrument.py). ``WRAPPERS[app]`` is the source of a module whose ``main`` is
the wrapped console script; ``BARE[app]`` imports the tool's own ``main``; ``CONSOLE_SCRIPT`` runs
either as pip's console-script launcher does.
"""

from __future__ import annotations

# The entry-point wrappers, as the guide's recipe writes them: instrument at import (before the
# console script looks up sys.exit), add the controls to the tool's own CLI object, run it.
WRAPPERS = {
    "llm": """
        import optel
        import optel.cli

        optel.instrument("click", "openai")


        def main():
            from llm.cli import cli

            optel.cli.click_group("llm", cli=cli)
            return cli()
    """,
    "httpie": """
        import optel
        import optel.cli

        optel.instrument("argparse")


        def main():
            from httpie.cli.definition import parser
            from httpie.__main__ import main as http_main

            optel.cli.add_argparse(parser, "httpie", command_name="http")
            return http_main()
    """,
    "openapi-python-client": """
        import optel
        import optel.cli

        optel.instrument("typer")


        def main():
            from openapi_python_client.cli import app

            optel.cli.typer_app("openapi-python-client", cli=app)
            return app()
    """,
}
# The tools' own entry points, as their console scripts call them.
BARE = {
    "llm": "from llm.cli import cli as main",
    "httpie": "from httpie.__main__ import main",
    "openapi-python-client": "from openapi_python_client.cli import app as main",
}
CONSOLE_SCRIPT = "import sys\n{entry}\nsys.exit(main())\n"
