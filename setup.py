"""The one compiled piece: the Forwarder's per-listener loop (server/media/_fanout.c).
Everything else is configured in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("server.media._fanout", ["server/media/_fanout.c"], extra_compile_args=["-O2"])])
