#!/usr/bin/env python3
"""sluice interop driver for the PyPI package `rocketmq` (messense/rocketmq-python 0.4.x), whose
wheel bundles librocketmq.so, i.e. the Apache RocketMQ C++ client (language CPP).

Usage: driver.py SCENARIO --namesrv 127.0.0.1:PORT [options]      (see --help)

Every sent or received message is one JSON line on stdout:
  {"event": "sent"|"recv", "client": "py", "id", "topic", "tags", "keys", "queueId",
   "queueOffset", "body", ...}
plus {"event": "started"} once a consumer runs, {"event": "send_failed", ...} for a failed send,
and {"event": "done", ...} at the end. Received lines also carry bornTimestamp, storeTimestamp,
uniqKey and retryTopic. Logs go to stderr; the C++ library writes its own log
under $HOME/logs/rocketmq-cpp, so the driver points HOME at --home (default: a fresh temporary
directory), which also isolates the C++ client's local offset store (broadcasting).

Exit status: 0 goal met; 1 not met (send failure, too few messages); 2 bad arguments or nothing
listening on the NameServer address; 3 watchdog (the process outlived --timeout + 20 s).
"""

import argparse
import ctypes
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

SCENARIOS = ("produce", "produce-orderly", "produce-batch", "consume", "consume-orderly")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="driver.py",
        description="sluice interop driver for the rocketmq (C++ client) Python package",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "scenarios:\n"
            "  produce          send_sync, one message at a time (SEND_MESSAGE_V2)\n"
            "  produce-orderly  send_orderly: shard = i %% --shards, queue = shard %% #queues\n"
            "  produce-batch    send_batch in batches of --batch-size\n"
            "  consume          push consumer, concurrent callback\n"
            "  consume-orderly  push consumer, orderly callback\n"
        ),
    )
    ap.add_argument("scenario", choices=SCENARIOS)
    ap.add_argument("--namesrv", required=True, help="NameServer HOST:PORT")
    ap.add_argument("--topic", default="InteropTopic")
    ap.add_argument("--group", default=None)
    ap.add_argument("--count", type=int, default=100,
                    help="messages to send; consumers stop after N distinct bodies")
    ap.add_argument("--start", type=int, default=0, help="index of the first message")
    ap.add_argument("--prefix", default="m", help="body = P-<i>, keys = P-k<i>")
    ap.add_argument("--tags", default="TagA", help="comma list; message i gets tags[i %% len]")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--interval-ms", type=int, default=0)
    ap.add_argument("--continue-on-error", action="store_true")
    ap.add_argument("--delay", default="none",
                    help="produce: comma list, message i gets SPEC[i %% len]: none | level:N "
                         "(set_delay_time_level, property DELAY) | deliver:+MS (property "
                         "TIMER_DELIVER_MS = now + MS) | delay-sec:S (TIMER_DELAY_SEC) | "
                         "delay-ms:MS (TIMER_DELAY_MS) | start:+MS (__STARTDELIVERTIME = now + MS)")
    ap.add_argument("--expr", default="*", help="subscription expression, e.g. 'TagA || TagB'")
    ap.add_argument("--model", choices=("clustering", "broadcasting"), default="clustering")
    ap.add_argument("--idle", type=float, default=None,
                    help="consumer: stop S seconds after the last new message (once >=1 arrived)")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--grace-ms", type=int, default=1500,
                    help="consumer: wait before shutdown so offsets get committed")
    ap.add_argument("--home", default=None,
                    help="HOME for the C++ library (its logs and local offsets)")
    ap.add_argument("--no-preflight", action="store_true",
                    help="do not check that the NameServer port accepts connections first")
    ap.add_argument("--access-key", default=None,
                    help="ACL 1.0: sign with set_session_credentials(AK, SK, 'ALIYUN')")
    ap.add_argument("--secret-key", default="")
    a = ap.parse_args(argv)
    a.tags = [t.strip() for t in a.tags.split(",") if t.strip()]
    if not a.tags:
        ap.error("--tags: empty list")
    a.delay = [parse_delay(ap, d) for d in a.delay.split(",") if d.strip()]
    if not a.delay:
        ap.error("--delay: empty list")
    if a.shards <= 0 or a.batch_size <= 0 or a.count < 0:
        ap.error("--shards/--batch-size must be > 0 and --count >= 0")
    if not (0 < a.timeout < 3600):
        ap.error("--timeout must be in (0, 3600)")
    if a.group is None:
        a.group = "interop_py_" + a.scenario.replace("-", "_")
    return a


DELAY_KINDS = ("level", "deliver", "delay-sec", "delay-ms", "start")


def parse_delay(ap, spec):
    spec = spec.strip()
    if spec == "none":
        return ("none", 0)
    kind, _, n = spec.partition(":")
    n = n.lstrip("+")
    if kind not in DELAY_KINDS or not n.isdigit():
        ap.error("--delay: bad spec %s" % spec)
    return (kind, int(n))


_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(msg):
    sys.stderr.write("[interop-py] %s\n" % msg)
    sys.stderr.flush()


def hard_exit(code):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def start_watchdog(seconds):
    def run():
        time.sleep(seconds)
        log("watchdog: still running after %.0fs, exiting" % seconds)
        hard_exit(3)

    t = threading.Thread(target=run, daemon=True)
    t.start()


def bounded(fn, seconds, what):
    """Runs fn in a thread and waits at most `seconds` (the C++ client's shutdown can block on an
    outstanding long-poll pull)."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        log("%s did not finish within %ss; going on" % (what, seconds))


def preflight(addr):
    host, _, port = addr.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return None
    except (OSError, ValueError) as e:
        return "nothing accepts connections on NameServer %s: %s" % (addr, e)


def now_ms():
    return int(time.time() * 1000)


def _s(v):
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


class Driver(object):
    def __init__(self, a):
        self.a = a
        # Imported late: HOME must be set first (the C++ library reads it for its log path).
        from rocketmq import client as rmq
        from rocketmq import ffi
        self.rmq = rmq
        self.ffi = ffi

    def body(self, i):
        return "%s-%d" % (self.a.prefix, i)

    def key(self, i):
        return "%s-k%d" % (self.a.prefix, i)

    def tag(self, i):
        return self.a.tags[i % len(self.a.tags)]

    def message(self, i):
        m = self.rmq.Message(self.a.topic)
        m.set_tags(self.tag(i))
        m.set_keys(self.key(i))
        m.set_body(self.body(i))
        return m

    def apply_delay(self, i, m):
        """Message i's --delay spec, applied just before sending; the sent line's fields."""
        kind, n = self.a.delay[i % len(self.a.delay)]
        now = now_ms()
        f = {"sendTs": now}
        if kind == "none":
            return f
        if kind == "level":
            m.set_delay_time_level(n)
            f.update(delay="level:%d" % n, delayLevel=n)
        elif kind == "deliver":
            m.set_property("TIMER_DELIVER_MS", str(now + n))
            f.update(delay="deliver:+%d" % n, deliverAt=now + n)
        elif kind == "start":
            m.set_property("__STARTDELIVERTIME", str(now + n))
            f.update(delay="start:+%d" % n, deliverAt=now + n)
        elif kind == "delay-sec":
            m.set_property("TIMER_DELAY_SEC", str(n))
            f.update(delay="delay-sec:%d" % n, delayMs=n * 1000)
        elif kind == "delay-ms":
            m.set_property("TIMER_DELAY_MS", str(n))
            f.update(delay="delay-ms:%d" % n, delayMs=n)
        return f

    def sent_line(self, i, res, **extra):
        d = {
            "event": "sent", "client": "py", "index": i,
            "id": res.msg_id, "topic": self.a.topic, "tags": self.tag(i), "keys": self.key(i),
            "queueId": None, "queueOffset": res.offset, "status": res.status.name,
            "body": self.body(i), "ts": now_ms(),
        }
        d.update(extra)
        return d

    def failed(self, i, err):
        emit({"event": "send_failed", "client": "py", "index": i, "body": self.body(i),
              "error": "%s: %s" % (type(err).__name__, err)})

    # -- producers -----------------------------------------------------------------------------

    def producer(self):
        p = self.rmq.Producer(self.a.group, timeout=3000)
        p.set_namesrv_addr(self.a.namesrv)
        if self.a.access_key:
            p.set_session_credentials(self.a.access_key, self.a.secret_key, "ALIYUN")
        p.start()
        return p

    def produce(self):
        a = self.a
        p = self.producer()
        ok = failed = 0
        deadline = time.time() + a.timeout
        orderly = a.scenario == "produce-orderly"
        chosen = {}

        def selector(mq_size, _msg, arg):
            # Same rule as the library's hashing_queue_selector, recorded for the output.
            q = ctypes.cast(arg, ctypes.POINTER(ctypes.c_int))[0] % mq_size
            chosen["q"] = q
            return q

        for i in range(a.start, a.start + a.count):
            if time.time() > deadline:
                log("timeout while sending")
                failed += a.start + a.count - i
                break
            try:
                if orderly:
                    shard = i % a.shards
                    chosen.clear()
                    res = p.send_orderly(self.message(i), shard, queue_selector=selector)
                    emit(self.sent_line(i, res, shard=shard, queueId=chosen.get("q")))
                else:
                    m = self.message(i)
                    sched = self.apply_delay(i, m)
                    res = p.send_sync(m)
                    emit(self.sent_line(i, res, **sched))
                ok += 1
            except Exception as e:  # the library raises its own exception types
                failed += 1
                self.failed(i, e)
                if not a.continue_on_error:
                    log("send %d failed: %s" % (i, e))
                    break
            if a.interval_ms:
                time.sleep(a.interval_ms / 1000.0)
        bounded(p.shutdown, 10, "producer shutdown")
        emit({"event": "done", "client": "py", "scenario": a.scenario, "sent": ok,
              "failed": failed})
        return failed == 0 or (a.continue_on_error and ok > 0)

    def produce_batch(self):
        a = self.a
        p = self.producer()
        ok = failed = 0
        i, end = a.start, a.start + a.count
        while i < end:
            j = min(i + a.batch_size, end)
            msgs = [self.message(k) for k in range(i, j)]
            try:
                res = p.send_batch(msgs)
                ids = res.msg_id.split(",") if res.msg_id else []
                for n, k in enumerate(range(i, j)):
                    d = self.sent_line(k, res, mode="batch")
                    d["id"] = ids[n] if n < len(ids) else None
                    d["queueOffset"] = res.offset + n if res.offset is not None else None
                    emit(d)
                ok += j - i
            except Exception as e:
                failed += j - i
                for k in range(i, j):
                    self.failed(k, e)
                if not a.continue_on_error:
                    log("batch send failed: %s: %s" % (type(e).__name__, e))
                    break
            i = j
        bounded(p.shutdown, 10, "producer shutdown")
        emit({"event": "done", "client": "py", "scenario": a.scenario, "sent": ok,
              "failed": failed})
        return failed == 0

    # -- consumers -----------------------------------------------------------------------------

    def consume(self):
        a = self.a
        model = (self.ffi.MessageModel.BROADCASTING if a.model == "broadcasting"
                 else self.ffi.MessageModel.CLUSTERING)
        c = self.rmq.PushConsumer(a.group, orderly=(a.scenario == "consume-orderly"),
                                  message_model=model)
        c.set_namesrv_addr(a.namesrv)
        if a.access_key:
            c.set_session_credentials(a.access_key, a.secret_key, "ALIYUN")
        c.set_instance_name("interop-c-%d" % os.getpid())
        lock = threading.Lock()
        distinct = {}
        state = {"total": 0, "last_new": 0.0}

        def on_message(msg):
            body = _s(msg.body) or ""
            emit({
                "event": "recv", "client": "py", "id": msg.id, "topic": msg.topic,
                "tags": _s(msg.tags), "keys": _s(msg.keys), "queueId": msg.queue_id,
                "queueOffset": msg.queue_offset, "reconsumeTimes": msg.reconsume_times,
                "bornTimestamp": msg.born_timestamp, "storeTimestamp": msg.store_timestamp,
                "uniqKey": _s(msg.get_property("UNIQ_KEY")) or None,
                "retryTopic": _s(msg.get_property("RETRY_TOPIC")) or None,
                "body": body, "ts": now_ms(),
            })
            with lock:
                state["total"] += 1
                if body not in distinct:
                    state["last_new"] = time.time()
                distinct[body] = distinct.get(body, 0) + 1

        c.subscribe(a.topic, on_message, expression=a.expr)
        t0 = time.time()
        c.start()
        emit({"event": "started", "client": "py", "group": a.group, "topic": a.topic,
              "expr": a.expr, "model": a.model.upper()})
        reason = "timeout"
        while time.time() - t0 < a.timeout:
            with lock:
                n, last = len(distinct), state["last_new"]
            if n >= a.count:
                reason = "count"
                break
            if a.idle is not None and last > 0 and time.time() - last >= a.idle:
                reason = "idle"
                break
            time.sleep(0.1)
        time.sleep(a.grace_ms / 1000.0)
        bounded(c.shutdown, 15, "consumer shutdown")
        with lock:
            emit({"event": "done", "client": "py", "scenario": a.scenario,
                  "received": state["total"], "distinct": len(distinct), "reason": reason})
        return reason == "count" or (a.idle is not None and reason == "idle")


def main(argv):
    a = parse_args(argv)
    start_watchdog(a.timeout + 20)
    if not a.no_preflight:
        err = preflight(a.namesrv)
        if err:
            log(err)
            emit({"event": "error", "client": "py", "error": err})
            return 2
    home = a.home or tempfile.mkdtemp(prefix="sluice-interop-py-")
    os.makedirs(home, exist_ok=True)
    os.environ["HOME"] = home
    try:
        return run(a)
    finally:
        if a.home is None and not os.environ.get("INTEROP_KEEP_HOME"):
            shutil.rmtree(home, ignore_errors=True)


def run(a):
    try:
        d = Driver(a)
        if a.scenario in ("produce", "produce-orderly"):
            ok = d.produce()
        elif a.scenario == "produce-batch":
            ok = d.produce_batch()
        else:
            ok = d.consume()
    except Exception as e:
        log("%s: %s" % (type(e).__name__, e))
        emit({"event": "error", "client": "py", "error": "%s: %s" % (type(e).__name__, e)})
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    # os._exit skips the library objects' __del__ (a second shutdown in the C++ client).
    hard_exit(main(sys.argv[1:]))
