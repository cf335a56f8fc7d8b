#!/usr/bin/env python3
"""A client for `recurrent serve` using only Python's standard library (docs/serve.md).

    from client import Client
    c = Client("http://127.0.0.1:8080", api_key=None)
    c.score("Call me Ishmael.")["log_prob"]
    c.generate(prime="Call me", length=100, temperature=0.8, seed=1)["text"]
    for token in c.stream(prime="Call me", length=100): print(token, end="", flush=True)
    sid = c.open_session(); c.feed(sid, "Call me "); c.feed(sid, "Ishmael.")
    c.generate_from(sid, length=50, seed=1); c.close_session(sid)

Command line:  client.py [--url URL] [--key KEY] generate|stream|score TEXT_OR_PRIME [--length N] [--seed S]
"""
import argparse
import http.client
import json
import sys
import urllib.parse


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


class Client:
    def __init__(self, url="http://127.0.0.1:8080", api_key=None, timeout=60.0):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.api_key, self.timeout = api_key, timeout
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def _headers(self):
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = "Bearer " + self.api_key
        return h

    def _send(self, method, path, body=None):
        """Sends one request on the kept-alive connection (reconnecting once if the server closed it)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=self._headers())
                return conn.getresponse()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise

    def request(self, method, path, body=None):
        r = self._send(method, path, body)
        payload = r.read()
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        out = json.loads(payload) if payload else {}
        if r.status >= 400:
            raise ApiError(r.status, out.get("error", ""))
        return out

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def models(self):
        return self.request("GET", "/v1/models")["models"]

    def score(self, text, model=None):
        return self.request("POST", "/v1/score", _body(text=text, model=model))

    def generate(self, **options):
        """options: prime, length, temperature, top_k, top_p, seed, beam, stop, model."""
        return self.request("POST", "/v1/generate", _body(**options))

    def stream(self, **options):
        """Yields the generated text token by token (server-sent events); the last event's JSON is
        kept in self.last (finish_reason, text)."""
        r = self._send("POST", "/v1/generate", _body(stream=True, **options))
        if r.status >= 400:
            payload = r.read()
            raise ApiError(r.status, json.loads(payload).get("error", "") if payload else "")
        self.last = None
        while True:
            line = r.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                if "token" in event:
                    yield event["token"]
                else:
                    self.last = event
                    break
        r.read()  # the end of the chunked body, so the connection can be reused

    def open_session(self, model=None):
        return self.request("POST", "/v1/sessions", _body(model=model))["session"]

    def feed(self, session, text):
        return self.request("POST", f"/v1/sessions/{session}/score", {"text": text})

    def generate_from(self, session, **options):
        """A generation that goes on from the session's text (options: length, temperature, top_k,
        top_p, seed, stop); the session does not move."""
        return self.request("POST", f"/v1/sessions/{session}/generate", _body(**options))

    def close_session(self, session):
        return self.request("DELETE", f"/v1/sessions/{session}")


def _body(**kw):
    return {k: v for k, v in kw.items() if v is not None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--key", default=None, help="API key (serve --api-key-file)")
    ap.add_argument("command", choices=["generate", "stream", "score", "models"])
    ap.add_argument("text", nargs="?", default="")
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    c = Client(a.url, a.key)
    try:
        if a.command == "models":
            print(json.dumps(c.models(), indent=1))
        elif a.command == "score":
            print(json.dumps(c.score(a.text)))
        elif a.command == "generate":
            r = c.generate(prime=a.text, length=a.length, temperature=a.temperature, seed=a.seed)
            print(r["prime"] + r["text"])
        else:
            sys.stdout.write(a.text)
            for tok in c.stream(prime=a.text, length=a.length, temperature=a.temperature, seed=a.seed):
                sys.stdout.write(tok)
                sys.stdout.flush()
            print()
    except ApiError as e:
        print(f"client.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
