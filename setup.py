"""The one compiled piece: the Forwarder's per-listener loop (server/media/_fanout.c).
Everything else is configured in pyproject.toml.

Optional: without a C compiler the install still succeeds and the server forwards in Python (it
logs a warning), at about twice the CPU per packet. CI checks that it was built.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("server.media._fanout", ["server/media/_fanout.c"], extra_compile_args=["-O2"], optional=True)
    ]
)
