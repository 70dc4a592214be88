"""VEZEPySports, a small example service of UniQVerse (README.md): a person's fantasy team per
league, for the hub's GraphQL `fantasyTeam` field. Standard library plus the uniqverse kit.

    ISSUER=http://localhost:3000 PORT=8004 python3 examples/vezepysports/server.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

try:
    import uniqverse
except ImportError:  # run from the repository: use the kit beside it
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk" / "python"))
    import uniqverse

#: The demo leagues and the players a team is drawn from.
LEAGUES: Dict[str, List[str]] = {
    "veze-football": ["Asha Rao", "Bruno Silva", "Chen Wei", "Dara Okafor", "Elif Demir", "Femi Adeyemi", "Greta Lind", "Hugo Martin", "Isla Byrne", "Jonas Berg"],
    "veze-cricket": ["Arjun Mehta", "Ben Foster", "Chris Gayle", "Dinesh Kumar", "Ellyse Perry", "Faf Naidoo", "Grace Harris", "Harmanpreet Kaur", "Imran Qadir", "Joe Root"],
    "veze-basketball": ["Ana Costa", "Bo Jensen", "Cleo Park", "Dev Patel", "Eva Novak", "Finn Walsh", "Gia Russo", "Hana Sato", "Ivo Petrov", "Jade Moreau"],
}
ROSTER_SIZE = 5


def fantasy_team(sub: str, league: str) -> Dict[str, Any]:
    """The person's team in the league: drawn from a seed of who and where, so the same every time."""
    seed = hashlib.sha256(f"{sub}:{league}".encode("utf-8")).hexdigest()
    draw = random.Random(seed)
    players = draw.sample(LEAGUES[league], ROSTER_SIZE)
    return {"id": f"{league}-{seed[:12]}", "roster": [{"name": name, "points": draw.randint(0, 120)} for name in players]}


class Config:
    def __init__(self, env: Dict[str, str]) -> None:
        if not env.get("ISSUER"):
            raise SystemExit("Set ISSUER (see examples/vezepysports/README.md).")
        self.issuer = env["ISSUER"].rstrip("/")
        self.port = int(env.get("PORT", "8004"))
        self.host = env.get("HOST", "127.0.0.1")
        self.resource = env.get("RESOURCE", "urn:veze:service:vezepysports")


def make_handler(config: Config) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "VEZEPySports"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

        def send_json(self, status: int, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/problem+json" if status >= 400 else "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def problem(self, status: HTTPStatus, title: str, detail: str, headers: Optional[Dict[str, str]] = None) -> None:
            self.send_json(status.value, {"type": "about:blank", "status": status.value, "title": title, "detail": detail}, headers)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/health":
                return self.send_json(200, {"status": "ok"})
            if url.path == "/fantasy-team":
                return self.fantasy_team(parse_qs(url.query))
            self.problem(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No GET {url.path} here.")

        def fantasy_team(self, query: Dict[str, List[str]]) -> None:
            token = uniqverse.bearer_token(self.headers.get("authorization"))
            if not token:
                return self.problem(HTTPStatus.UNAUTHORIZED, "UNAUTHENTICATED", "Send Authorization: Bearer <access token for VEZEPySports>.", {"www-authenticate": "Bearer"})
            try:
                claims = uniqverse.verify_service_token(token, config.issuer, config.resource)
            except uniqverse.InvalidServiceToken as error:
                return self.problem(HTTPStatus.UNAUTHORIZED, "UNAUTHENTICATED", str(error), {"www-authenticate": 'Bearer error="invalid_token"'})
            league = (query.get("leagueId") or [""])[0]
            if not league:
                return self.problem(HTTPStatus.BAD_REQUEST, "BAD_REQUEST", "leagueId is required.")
            if league not in LEAGUES:
                return self.problem(HTTPStatus.NOT_FOUND, "LEAGUE_NOT_FOUND", f"There is no league {league!r}; the leagues are {', '.join(sorted(LEAGUES))}.")
            self.send_json(200, fantasy_team(claims["sub"], league))

    return Handler


def main() -> None:
    config = Config(dict(os.environ))
    server = ThreadingHTTPServer((config.host, config.port), make_handler(config))
    print(f"VEZEPySports on http://{config.host}:{server.server_address[1]}, trusting tokens of {config.issuer}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
