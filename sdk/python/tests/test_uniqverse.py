"""Tests of the uniqverse kit. test/sdk/python.test.ts runs them against a real hub it started,
with what that hub really issued and delivered in UQ_* variables; without them the hub tests fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import unittest
import uuid
from urllib.parse import parse_qs

import httpx

from uniqverse import (
    HubError,
    InvalidServiceToken,
    ServiceCredentials,
    StreamRevoked,
    WebhookVerificationError,
    exchange_token,
    follow_events,
    post_event,
    verify_service_token,
    verify_webhook,
)


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"{name} is not set: run these tests through test/sdk/python.test.ts, which starts a hub")
    return value


class LocalServer:
    """A small HTTP server on a free port; `answer(handler, index)` writes each response."""

    def __init__(self, answer):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": b""})
                answer(self, len(outer.requests) - 1)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                answer(self, len(outer.requests) - 1)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def send(handler, status, body, content_type="application/json", close=True):
    data = body.encode() if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    if close:
        handler.send_header("connection", "close")
    handler.end_headers()
    handler.wfile.write(data)


class WebhookSignatures(unittest.TestCase):
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()

    def signed(self, body: str, at: int, secret=None):
        key = base64.b64decode((secret or self.secret)[len("whsec_"):])
        event_id = json.loads(body)["id"]
        signature = base64.b64encode(hmac.new(key, f"{event_id}.{at}.{body}".encode(), hashlib.sha256).digest()).decode()
        return {"webhook-id": event_id, "webhook-timestamp": str(at), "webhook-signature": f"v1,{signature}"}

    def test_several_signatures_and_tolerance(self):
        body = json.dumps({"id": str(uuid.uuid4()), "type": "sports.goal", "data": {}})
        now = int(time.time())
        headers = self.signed(body, now)
        headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"] + " v2,whatever"
        self.assertEqual(verify_webhook(headers, body, self.secret)["type"], "sports.goal")
        with self.assertRaises(WebhookVerificationError):
            verify_webhook(self.signed(body, now - 301), body, self.secret)
        self.assertEqual(verify_webhook(self.signed(body, now - 299), body.encode(), self.secret)["type"], "sports.goal")
        with self.assertRaises(WebhookVerificationError):
            verify_webhook({**headers, "webhook-signature": "v1,AAAA"}, body, self.secret)


class HubTokens(unittest.TestCase):
    def test_a_token_the_hub_issued_for_the_service(self):
        issuer, audience = env("UQ_ISSUER"), env("UQ_SERVICE_RESOURCE")
        claims = verify_service_token(env("UQ_SERVICE_TOKEN"), issuer, audience, required_scopes=["read"])
        self.assertEqual(claims["sub"], env("UQ_PERSON_SUB"))
        self.assertEqual(claims["aud"], audience)

    def test_refused_for_another_audience_a_missing_scope_a_forgery_and_an_id_token(self):
        issuer, audience, token = env("UQ_ISSUER"), env("UQ_SERVICE_RESOURCE"), env("UQ_SERVICE_TOKEN")
        with self.assertRaisesRegex(InvalidServiceToken, "audience"):
            verify_service_token(token, issuer, "urn:veze:service:someone-else")
        with self.assertRaisesRegex(InvalidServiceToken, "admin"):
            verify_service_token(token, issuer, audience, required_scopes=["admin"])
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "someone-else"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        with self.assertRaisesRegex(InvalidServiceToken, "ignature"):
            verify_service_token(f"{header}.{forged}.{signature}", issuer, audience)
        with self.assertRaisesRegex(InvalidServiceToken, "at\\+jwt"):
            verify_service_token(env("UQ_ID_TOKEN"), issuer, audience)


class HubWebhook(unittest.TestCase):
    def test_a_delivery_the_hub_made(self):
        with open(env("UQ_WEBHOOK_DELIVERY")) as file:
            delivery = json.load(file)
        secret = env("UQ_WEBHOOK_SECRET")
        event = verify_webhook(delivery["headers"], delivery["body"].encode(), secret)
        self.assertEqual(event["type"], "entitlement.granted")
        self.assertEqual(event["user_id"], env("UQ_PERSON_SUB"))
        self.assertEqual(event["id"], delivery["headers"]["webhook-id"])
        signed_at = int(delivery["headers"]["webhook-timestamp"])
        self.assertEqual(verify_webhook(delivery["headers"], delivery["body"], secret, now=signed_at + 200)["id"], event["id"])
        with self.assertRaisesRegex(WebhookVerificationError, "timestamp"):
            verify_webhook(delivery["headers"], delivery["body"], secret, now=signed_at + 301)
        with self.assertRaisesRegex(WebhookVerificationError, "signature"):
            verify_webhook(delivery["headers"], delivery["body"].replace("entitlement", "entitlemenT"), secret)
        with self.assertRaisesRegex(WebhookVerificationError, "signature"):
            verify_webhook(delivery["headers"], delivery["body"], "whsec_" + base64.b64encode(b"x" * 32).decode())


class HubEvents(unittest.TestCase):
    def test_post_follow_and_resume(self):
        issuer, sub, hub_token = env("UQ_ISSUER"), env("UQ_PERSON_SUB"), env("UQ_HUB_TOKEN")
        token_requests = []
        counting = httpx.Client(timeout=10, event_hooks={"request": [lambda request: token_requests.append(request.url) if request.url.path == "/token" else None]})
        credentials = ServiceCredentials(issuer, env("UQ_CLIENT_ID"), env("UQ_CLIENT_SECRET"), http=counting)

        received = []
        ready = threading.Event()
        stop = threading.Event()

        def on_event(event, stream_id):
            received.append((event, stream_id))
            if len(received) == 2:
                stop.set()

        results = {}
        follower = threading.Thread(target=lambda: results.update(position=follow_events(issuer, hub_token, on_event, on_ready=lambda _: ready.set(), stop=stop)))
        follower.start()
        self.assertTrue(ready.wait(10), "the stream opened")
        first = post_event(credentials, "sports.match.finished", sub, {"match": "one"})
        second = post_event(credentials, "sports.match.finished", sub, {"match": "two"}, id=str(uuid.uuid4()))
        self.assertEqual(len(token_requests), 1, "the second post reuses the cached token")
        follower.join(15)
        self.assertFalse(follower.is_alive(), "stopped")
        self.assertEqual([event["id"] for event, _ in received], [first, second])
        self.assertEqual(results["position"], received[1][1])

        # Missed while away, then resumed from the last stream id handled: only what came after it.
        third = post_event(credentials, "sports.match.finished", sub, {"match": "three"})
        resumed = []
        stop_again = threading.Event()

        def on_resumed(event, _stream_id):
            resumed.append(event)
            stop_again.set()

        follow_events(issuer, lambda: hub_token, on_resumed, since=results["position"], stop=stop_again)
        self.assertEqual([(event["id"], event["data"]["match"]) for event in resumed], [(third, "three")])

        with self.assertRaises(HubError) as refused:
            post_event(credentials, "game.won", sub)
        self.assertEqual(refused.exception.status, 400)
        with self.assertRaises(HubError) as unauthorized:
            follow_events(issuer, "not-a-token", lambda *_: None)
        self.assertEqual(unauthorized.exception.status, 401)


class LocalStreams(unittest.TestCase):
    def test_reconnects_with_last_event_id_and_stops_on_revoked(self):
        def envelope(event_id):
            return json.dumps({"id": event_id, "type": "sports.goal", "data": {}})

        def answer(handler, index):
            if index == 1:
                return send(handler, 503, "{}")
            if index == 0:
                body = f"retry: 50\n\nid: 1-0\nevent: ready\ndata: {{}}\n\nid: 2-0\nevent: sports.goal\r\ndata: {envelope('a')}\r\n\r\n: keep-alive\n\n"
            else:
                body = f"id: 2-0\nevent: ready\ndata: {{}}\n\nid: 3-0\nevent: sports.goal\ndata: {envelope('b')}\n\nevent: revoked\ndata: {{}}\n\n"
            send(handler, 200, body, "text/event-stream")

        server = LocalServer(answer)
        self.addCleanup(server.close)
        seen, delays = [], []
        with self.assertRaises(StreamRevoked):
            follow_events(server.url, "t", lambda event, _: seen.append(event["id"]), since="0-0",
                          on_reconnect=lambda attempt, delay, error: delays.append(delay), initial_backoff=0.01)
        self.assertEqual(seen, ["a", "b"])
        self.assertEqual([r["headers"].get("last-event-id") for r in server.requests], ["0-0", "2-0", "2-0"])
        self.assertTrue(all(r["headers"].get("authorization") == "Bearer t" for r in server.requests))
        self.assertEqual(len(delays), 2)
        self.assertGreaterEqual(delays[0], 0.05, "the retry: the server asked for")


    def test_stop_from_another_thread_ends_a_quiet_stream_at_once(self):
        def answer(handler, index):
            handler.send_response(200)
            handler.send_header("content-type", "text/event-stream")
            handler.end_headers()
            handler.wfile.write(b"id: 1-0\nevent: ready\ndata: {}\n\n")
            handler.wfile.flush()
            time.sleep(5)

        server = LocalServer(answer)
        self.addCleanup(server.close)
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        self.assertEqual(follow_events(server.url, "t", lambda *_: None, stop=stop), "1-0")
        self.assertLess(time.monotonic() - started, 3)


class TokenExchange(unittest.TestCase):
    def test_request_shape(self):
        def answer(handler, index):
            issuer = f"http://{handler.headers['host']}"
            if handler.path == "/.well-known/openid-configuration":
                return send(handler, 200, json.dumps({"issuer": issuer, "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks"}))
            if len([r for r in server.requests if r["path"] == "/token"]) == 1:
                return send(handler, 200, json.dumps({"access_token": "exchanged", "token_type": "Bearer", "expires_in": 300}))
            send(handler, 400, json.dumps({"error": "invalid_target", "error_description": "no such resource"}))

        server = LocalServer(answer)
        self.addCleanup(server.close)
        credentials = ServiceCredentials(server.url, "vezepysports web", "s3cr:t")
        answer_ = exchange_token(credentials, "person-token", "urn:veze:service:vezepyemail", scope="read")
        self.assertEqual(answer_["access_token"], "exchanged")
        token_call = [r for r in server.requests if r["path"] == "/token"][0]
        self.assertEqual({k: v[0] for k, v in parse_qs(token_call["body"].decode()).items()}, {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": "person-token",
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "resource": "urn:veze:service:vezepyemail",
            "scope": "read",
        })
        self.assertEqual(token_call["headers"]["authorization"], "Basic " + base64.b64encode(b"vezepysports+web:s3cr%3At").decode())
        with self.assertRaises(HubError) as refused:
            exchange_token(credentials, "x", "urn:veze:service:nobody")
        self.assertEqual(refused.exception.code, "invalid_target")


if __name__ == "__main__":
    unittest.main()

