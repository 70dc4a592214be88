"""Posting your service's events, and following a person's live stream (docs/events.md)."""

from __future__ import annotations

import json
import random
import socket
import threading
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, Optional, Union

import httpx

from ._http import HubError, response_body
from .credentials import ServiceCredentials, client_credentials_token, forget_client_credentials_token


def hub_resource(issuer: str) -> str:
    """The hub's own API resource: what a service's token for /api/v1/* is made for."""
    return issuer.rstrip("/") + "/hub"


def post_event(
    credentials: ServiceCredentials,
    type: str,
    user: str,
    data: Optional[Dict[str, Any]] = None,
    id: Optional[str] = None,
    occurred_at: Optional[Union[str, datetime]] = None,
) -> str:
    """
    Posts your service's own event about a person (`POST /api/v1/events`; the type in your
    namespace, e.g. `sports.match.finished` for vezepysports) with a client-credentials token for
    the hub (scope `events`), cached until shortly before it expires. Give `id` (a UUID) to make a
    retry idempotent. Returns the event's id; raises HubError when the hub refuses it.
    """
    event: Dict[str, Any] = {"type": type, "user": user, "data": data or {}}
    if id:
        event["id"] = id
    if occurred_at:
        event["occurred_at"] = occurred_at.isoformat() if isinstance(occurred_at, datetime) else occurred_at
    resource = hub_resource(credentials.issuer)
    for attempt in (0, 1):
        token = client_credentials_token(credentials, resource, "events")
        response = credentials.client().post(
            f"{credentials.issuer}/api/v1/events",
            json=event,
            headers={"authorization": f"Bearer {token}", "accept": "application/json"},
        )
        if response.status_code == 202:
            return response.json()["id"]
        # A cached token the hub no longer takes (revoked, keys rotated): get a new one, once.
        if response.status_code == 401 and attempt == 0:
            forget_client_credentials_token(credentials, resource, "events")
            continue
        raise HubError(response.status_code, response_body(response), "Posting the event")
    raise AssertionError("unreachable")


class StreamRevoked(Exception):
    """The hub ended the stream because its token or sign-in ended: sign in again, do not retry."""


class _Message:
    __slots__ = ("id", "event", "data", "retry")

    def __init__(self) -> None:
        self.id: Optional[str] = None
        self.event = "message"
        self.data: Optional[str] = None
        self.retry: Optional[int] = None


def _messages(lines: Iterator[str]) -> Iterator[_Message]:
    """Server-Sent Events: fields per line, a blank line ends a message, `:` lines are comments."""
    message = _Message()
    for line in lines:
        line = line.rstrip("\r\n")
        if line == "":
            if message.data is not None or message.id is not None or message.retry is not None:
                yield message
            message = _Message()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            message.data = value if message.data is None else message.data + "\n" + value
        elif name == "event":
            message.event = value
        elif name == "id":
            message.id = value
        elif name == "retry" and value.isdigit():
            message.retry = int(value)


class _StreamEnded(Exception):
    """The connection ended by itself (hub restart, network): worth reconnecting."""


_FATAL = {400, 401, 403, 404}
_STREAM_TIMEOUT = httpx.Timeout(10, read=45)


def follow_events(
    issuer: str,
    access_token: Union[str, Callable[[], str]],
    on_event: Callable[[Dict[str, Any], str], None],
    since: Optional[str] = None,
    on_ready: Optional[Callable[[str], None]] = None,
    on_resync: Optional[Callable[[str], None]] = None,
    on_reconnect: Optional[Callable[[int, float, BaseException], None]] = None,
    stop: Optional[threading.Event] = None,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    http: Optional[httpx.Client] = None,
) -> Optional[str]:
    """
    Follows a person's live events at `/hub/events` (Server-Sent Events) with their hub token
    (resource `<ISSUER>/hub`, scope `hub`; or a function giving the current one). Calls
    `on_event(event, stream_id)` for each, in order; the position moves past an event only once it
    returns. After a lost connection or a hub restart it reconnects with `Last-Event-ID` = the last
    stream id handled, waiting with exponential backoff (and the hub's `retry:` / `Retry-After`).
    Returns the last stream id when `stop` is set (it also closes the open connection); raises
    HubError on a refusal (401, 403, 400) and StreamRevoked when the hub ends the stream for a
    revoked token. An exception from a callback ends it too, unchanged.
    """
    url = issuer.rstrip("/") + "/hub/events"
    stop = stop or threading.Event()
    client = http or httpx.Client(timeout=_STREAM_TIMEOUT)
    position = since
    attempt = 0
    try:
        while not stop.is_set():
            hint = 0.0
            try:
                token = access_token if isinstance(access_token, str) else access_token()
                headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
                if position:
                    headers["last-event-id"] = position
                # A connection silent for 45 s (the hub sends a keep-alive every 15 s) is taken for dead: reconnect.
                with client.stream("GET", url, headers=headers, timeout=_STREAM_TIMEOUT) as response:
                    if response.status_code != 200:
                        response.read()
                        error = HubError(response.status_code, response_body(response), "Following events")
                        if response.status_code in _FATAL:
                            raise error
                        hint = float(response.headers.get("retry-after", 0) or 0)
                        raise _StreamEnded(str(error))
                    # A stop while the connection waits for the next line: close it to wake the reader.
                    done = threading.Event()
                    threading.Thread(target=_close_on_stop, args=(stop, done, response), daemon=True).start()
                    try:
                        for message in _messages(response.iter_lines()):
                            if stop.is_set():
                                break
                            if message.retry is not None:
                                hint = message.retry / 1000
                            if message.event == "ready":
                                attempt = 0
                                position = message.id or position
                                if on_ready:
                                    on_ready(message.id or "")
                            elif message.event == "resync":
                                reason = json.loads(message.data).get("reason", "") if message.data else ""
                                if on_resync:
                                    on_resync(reason)
                                position = message.id or position
                            elif message.event == "revoked":
                                raise StreamRevoked("The hub ended the event stream: the token or sign-in it was opened with has ended.")
                            elif message.event == "reconnect":
                                hint = json.loads(message.data or "{}").get("retry_ms", hint * 1000) / 1000
                            elif message.data:
                                on_event(json.loads(message.data), message.id or "")
                                position = message.id or position
                            if stop.is_set():
                                break
                    finally:
                        done.set()
                    if not stop.is_set():
                        raise _StreamEnded("The hub closed the stream.")
            except (_StreamEnded, httpx.TransportError) as error:
                if stop.is_set():
                    break
                attempt += 1
                backoff = min(max_backoff, initial_backoff * 2 ** min(attempt - 1, 16))
                delay = max(hint, backoff * random.uniform(0.8, 1.2))
                if on_reconnect:
                    on_reconnect(attempt, delay, error)
                stop.wait(delay)
    finally:
        if http is None:
            client.close()
    return position


def _close_on_stop(stop: threading.Event, done: threading.Event, response: httpx.Response) -> None:
    while not done.is_set():
        if stop.wait(0.2):
            if not done.is_set():
                # Closing the response from this thread would not wake a read blocked in the other;
                # shutting the socket down does.
                stream = response.extensions.get("network_stream")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            return
