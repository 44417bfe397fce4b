"""ixserver as a cluster on this machine: N `ixserver serve` instances on one PostgreSQL database
behind HAProxy (Debian's `haproxy`), the topology of deploy/compose.yaml with local processes.

    .venv/bin/python deploy/cluster.py --database-url postgresql://postgres@127.0.0.1:5432/ixserver \\
        --instances 2 --port 8080 --data-dir var/cluster

- The instances share what must be shared: the database (and with it the rate limit's counts),
  and, in the data directory, the signing key and the secret key (the seal's and AT credentials'),
  made here once before any instance starts.
- Migrations run once, here, before the instances start (each instance's own start then finds
  nothing to do; migrations take an advisory lock, so instances started together never race).
- HAProxy sends each account's requests to one instance (by the `api_key` parameter, consistent
  hashing: docs/operations.md, "A cluster you can start"), checks each instance's
  `/_ixserver/health` every second, and sends a request whose connection an instance refuses (it
  died, or is restarting) to another (`retries` + `option redispatch`: the request never reached
  the dead one, so this is safe for a POST). A request an instance was answering when it died is
  a 502 for that client: not acknowledged, so nothing is lost; its transaction either committed
  or rolled back whole.
- `<data dir>/cluster.json` names each instance's port and pid (a test kills one).
- SIGTERM or Ctrl-C stops HAProxy, then each instance gracefully (uvicorn finishes the requests
  under way).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HAPROXY = """global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 60s
    timeout http-request 10s  # a request's head (and, buffered, its body) from a slow client
    option http-buffer-request
    retries 3
    option redispatch

frontend ixserver
    bind {host}:{port}
    # at most 100 connections per client address (the instances see only HAProxy's)
    stick-table type ip size 100k expire 60s store conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if {{ sc0_conn_cur gt 100 }}
    default_backend instances

backend instances
    # an account's requests to one instance, chosen by its key (the API's `api_key` parameter;
    # a request without one: round robin), so that one writer batches the account's writes and
    # instances do not take turns on its lock; consistent hashing: when an instance leaves, only
    # its accounts move, to the others
    balance url_param api_key
    hash-type consistent
    option httpchk GET /_ixserver/health
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}
"""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_ixserver/health", timeout=1) as answer:  # noqa: S310 - our own
            return bool(answer.status == 200)
    except OSError:
        return False


def _wait(url: str, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _healthy(url):
        if time.monotonic() > deadline:
            raise SystemExit(f"cluster: {what} did not become ready at {url}")
        time.sleep(0.1)


def instance_ports(port: int, instances: int) -> list[int]:
    """The ports after HAProxy's; one that is taken (by a server, or as the local end of some
    outgoing connection) is replaced by one the system picks."""
    return [p if _free(p) else _free(0) for p in range(port + 1, port + 1 + instances)]


def _free(port: int) -> int:
    """`port` (0: any) if this machine lets it be bound now, else 0."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("IXSERVER_DATABASE_URL"),
        required="IXSERVER_DATABASE_URL" not in os.environ,
    )
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="HAProxy's port; the instances take the next ones (a taken one: any free port)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var/cluster"))
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("cluster: instances share one PostgreSQL database (--database-url postgresql://…)")
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        raise SystemExit("cluster: haproxy is not installed (apt-get install haproxy)")
    ixserver = shutil.which("ixserver", path=str(Path(sys.executable).parent)) or "ixserver"
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "IXSERVER_DATABASE_URL": args.database_url, "IXSERVER_DATA_DIR": str(data_dir)}
    # The shared keys, made once (what each instance would otherwise make for itself at start).
    subprocess.run(
        [sys.executable, "-c", "from ixserver.config import Settings; from ixserver.resources import Resources; "
         "Resources.from_settings(Settings())"], env=env, check=True,
    )  # fmt: skip
    subprocess.run([ixserver, "migrate"], env=env, check=True, stdout=sys.stderr)  # stdout: the cluster's own line
    ports = instance_ports(args.port, args.instances)
    instances = [
        subprocess.Popen(
            [ixserver, "serve", "--host", "127.0.0.1", "--port", str(port)],
            # links point at the balancer; every connection comes from it: no cap per address
            env={
                **env,
                "IXSERVER_PUBLIC_URL": f"http://{args.host}:{args.port}",
                "IXSERVER_CONNECTIONS_PER_CLIENT": "0",
            },
            stdout=sys.stderr,  # what each says at start; stdout: the cluster's own line
        )
        for port in ports
    ]
    balancer: subprocess.Popen[bytes] | None = None

    def shutdown() -> None:
        """HAProxy first (no new requests), then each instance gracefully."""
        if balancer is not None and balancer.poll() is None:
            balancer.terminate()
            balancer.wait(10)
        for instance in instances:
            if instance.poll() is None:
                instance.terminate()
        for instance in instances:
            try:
                instance.wait(30)
            except subprocess.TimeoutExpired:
                instance.kill()

    def on_signal(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for port in ports:
            _wait(f"http://127.0.0.1:{port}", f"the instance on port {port}")
        servers = "\n".join(f"    server ix{n + 1} 127.0.0.1:{port} check" for n, port in enumerate(ports))
        config = data_dir / "haproxy.cfg"
        config.write_text(HAPROXY.format(host=args.host, port=args.port, servers=servers))
        balancer = subprocess.Popen([haproxy, "-db", "-f", str(config)])
        base = f"http://{args.host}:{args.port}"
        _wait(base, "HAProxy")
        (data_dir / "cluster.json").write_text(
            json.dumps(
                {"url": base, "instances": [{"port": p, "pid": i.pid} for p, i in zip(ports, instances, strict=True)]}
            )
        )
        print(f"cluster: {base} -> {len(ports)} instances on ports {', '.join(map(str, ports))}", flush=True)
        while balancer.poll() is None:
            time.sleep(0.5)
        raise SystemExit(f"cluster: HAProxy stopped ({balancer.returncode})")
    finally:
        shutdown()


if __name__ == "__main__":
    main()
