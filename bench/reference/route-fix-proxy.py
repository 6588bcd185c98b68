#!/usr/bin/env python3
"""A loopback TCP proxy for a RocketMQ NameServer that adds `"enableActingMaster": false` to
every BrokerData in route responses that lack it.

Why: rocketmq-client-rust 1.0.0 (rocketmq-protocol 1.0.0) declares BrokerData.enableActingMaster as
a plain `bool` with no serde default, so a route body without the field fails to decode
("core.serialization.failed: Serialization failed") and the client can send nothing. Java 5.x
NameServers always write the field; sluice's NameServer omits it when false. The proxy lets
throughput-pair.sh (--sluice-mode proxied) measure sluice's broker through sluice's own NameServer
until that is fixed. Only NameServer traffic passes through it; sends go straight to the broker.

usage: route-fix-proxy.py LISTEN_PORT UPSTREAM_PORT     (both on 127.0.0.1)
Prints "ready" on stdout once listening; one line on stderr per rewritten response.
"""
import asyncio
import json
import struct
import sys


async def pump(reader, writer, rewrite):
    try:
        while True:
            head = await reader.readexactly(4)
            (total,) = struct.unpack(">i", head)
            frame = await reader.readexactly(total)
            if rewrite:
                frame = fix(frame)
                head = struct.pack(">i", len(frame))
            writer.write(head + frame)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def fix(frame):
    (mark,) = struct.unpack(">i", frame[:4])
    hlen = mark & 0xFFFFFF
    header, body = frame[4 : 4 + hlen], frame[4 + hlen :]
    if b'"brokerDatas"' not in body:
        return frame
    try:
        route = json.loads(body)
    except ValueError:
        return frame
    changed = 0
    for bd in route.get("brokerDatas") or []:
        if "enableActingMaster" not in bd:
            bd["enableActingMaster"] = False
            changed += 1
    if not changed:
        return frame
    print(f"route-fix-proxy: added enableActingMaster to {changed} BrokerData", file=sys.stderr, flush=True)
    return frame[:4] + header + json.dumps(route, separators=(",", ":")).encode()


async def main(listen, upstream):
    async def handle(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pump(cr, uw, False), pump(ur, cw, True))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
