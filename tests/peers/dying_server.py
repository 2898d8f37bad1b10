"""A model server process that fails the way a broken llama.cpp build does, for the local-model tests.

`python -m tests.peers.dying_server PORT MODE` listens on 127.0.0.1:PORT, lists one model on
`GET /v1/models` like a server that loaded fine, and on `POST /v1/chat/completions`:
- `segv`: logs a line and dies by SIGSEGV (as an AMX build faulting in `ldtilecfg` does);
- `hang`: never answers;
- `ok`: answers an OpenAI chat completion.
`exit` exits with status 3 before listening (a model file that fails to load).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "exit":
        print("error: failed to load model", flush=True)
        sys.exit(3)

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._json({"object": "list", "data": [{"id": "smollm2-135m-instruct", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "segv":
                print("llama_perf_context_print: about to compute the first batch", flush=True)
                os.kill(os.getpid(), signal.SIGSEGV)
            if mode == "hang":
                time.sleep(3600)
            self._json({"id": "c1", "object": "chat.completion", "created": 0, "model": "smollm2-135m-instruct",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "OK"}}]})

    print(f"listening on 127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
