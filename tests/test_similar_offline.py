"""The similarity engine never reaches the network: WordLlama's model is read from its wheel's
files, and nothing falls back to a download. Checked in a fresh interpreter whose sockets
refuse any address but the loopback, from the first import on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ENCODE_WITHOUT_NETWORK = """
import json, socket

attempts = []
connect = socket.socket.connect

def refuse_outside(sock, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
        attempts.append(str(host))
        raise OSError(f"network blocked in this test: {address!r}")
    return connect(sock, address)

socket.socket.connect = refuse_outside
socket.socket.connect_ex = lambda sock, address: refuse_outside(sock, address) or 0
socket.create_connection = lambda address, *a, **k: refuse_outside(None, address)

from bot.similar.engine import Encoder, Entry, MemoryIndex
from bot.folding import fold

encoder = Encoder()
texts = ["Invoices show the wrong VAT rate", "Le taux de TVA est faux", "Dark mode"]
encoded = encoder.encode([fold(text) for text in texts])
index = MemoryIndex()
index.replace_all(Entry(n, "painpoint", None, e) for n, e in enumerate(encoded, 1))
[query] = encoder.encode([fold("wrong VAT rate on the invoices")])
best = index.search(query, limit=1)[0].item_id
print(json.dumps({"attempts": attempts, "best": best, "nonzero": bool(encoded[0].vector.any())}))
"""


def test_the_model_loads_and_encodes_with_the_network_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", ENCODE_WITHOUT_NETWORK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},  # no cache, no proxy, no token
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"attempts": [], "best": 1, "nonzero": True}
