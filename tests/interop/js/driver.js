#!/usr/bin/env node
// sluice interop driver for the npm package `ali-ons` (pure-JavaScript RocketMQ remoting client;
// it announces itself as language JAVA, version 121).
//
// Usage: node driver.js SCENARIO --namesrv 127.0.0.1:PORT [options]      (see --help)
//
// Every sent or received message is one JSON line on stdout:
//   {"event":"sent"|"recv","client":"js","id","offsetMsgId","topic","tags","keys","queueId",
//    "queueOffset","body",...}
// plus {"event":"started"} once a consumer runs, {"event":"send_failed",...} for a failed send,
// {"event":"quirk",...} when the driver works around a client limitation, and {"event":"done"}
// at the end. Received lines also carry bornTimestamp, storeTimestamp, uniqKey, retryTopic and
// the message's properties. Logs go to stderr.
//
// Exit status: 0 goal met; 1 not met (send failure, too few messages); 2 bad arguments or nothing
// listening on the NameServer address; 3 watchdog (the process outlived --timeout + 20 s).
'use strict';

const net = require('net');
const { parseArgs } = require('util');

const USAGE = `usage: node driver.js SCENARIO --namesrv HOST:PORT [options]

scenarios:
  produce          producer.send, one message at a time (SEND_MESSAGE_V2, code 310)
  produce-ordered  message i gets shardingKey "<prefix>-s<i % shards>"; ali-ons maps a sharding
                   key to a queue by md5(key) % #queues
  consume          push consumer (ali-ons consumes one message at a time per topic)

options (defaults in brackets):
  --namesrv HOST:PORT   NameServer address (required)
  --topic T             [InteropTopic]
  --group G             [interop_js_<scenario>]
  --count N             messages to send; consumers stop after N distinct bodies [100]
  --start I             index of the first message [0]
  --prefix P            body = P-<i>, keys = P-k<i> [m]
  --tags A,B,...        tag of message i = tags[i % len] [TagA]
  --shards K            [4]
  --interval-ms MS      pause between sends [0]
  --continue-on-error   keep sending after a failed send
  --delay SPEC,...      produce: message i gets SPEC[i % len]: none | level:N (msg.delayTimeLevel,
                        property DELAY) | start:+MS (msg.setStartDeliverTime(now + MS), property
                        __STARTDELIVERTIME) | deliver:+MS (property TIMER_DELIVER_MS = now + MS) |
                        delay-sec:S (TIMER_DELAY_SEC) | delay-ms:MS (TIMER_DELAY_MS) [none]
  --expr EXPR           subscription expression, e.g. "TagA || TagB" [*]
  --model clustering|broadcasting  [clustering]
  --from first|last     consumeFromWhere for a group with no stored offset [first]
  --idle S              consumer: stop S seconds after the last new message (once >=1 arrived)
  --timeout S           overall bound [60]
  --grace-ms MS         consumer: wait before close so offsets get committed [1500]
  --fail                consumer: the handler throws for every message (ali-ons then sends it
                        back with CONSUMER_SEND_MSG_BACK, delay level 0 = the broker's choice)
  --max-reconsume N     consumer: ali-ons maxReconsumeTimes (sent with the send-back) [16]
  --stop-at-reconsume K consumer: --count counts only bodies seen with reconsumeTimes >= K [0]
  --poll-ms MS          route refresh / rebalance interval of the client [2000]
                        (ali-ons defaults: 30000 / 10000; it ignores NOTIFY_CONSUMER_IDS_CHANGED)
  --no-preflight        do not check that the NameServer port accepts connections first
  --access-key AK       ACL 1.0: ali-ons signs every request (accessKeyId/accessKeySecret)
  --secret-key SK
`;

function fail(msg, code) {
  process.stderr.write(`driver.js: ${msg}\n`);
  process.exit(code);
}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        namesrv: { type: 'string' },
        topic: { type: 'string', default: 'InteropTopic' },
        group: { type: 'string' },
        count: { type: 'string', default: '100' },
        start: { type: 'string', default: '0' },
        prefix: { type: 'string', default: 'm' },
        tags: { type: 'string', default: 'TagA' },
        shards: { type: 'string', default: '4' },
        'interval-ms': { type: 'string', default: '0' },
        'continue-on-error': { type: 'boolean', default: false },
        expr: { type: 'string', default: '*' },
        model: { type: 'string', default: 'clustering' },
        from: { type: 'string', default: 'first' },
        idle: { type: 'string' },
        timeout: { type: 'string', default: '60' },
        'grace-ms': { type: 'string', default: '1500' },
        'poll-ms': { type: 'string', default: '2000' },
        'no-preflight': { type: 'boolean', default: false },
        delay: { type: 'string', default: 'none' },
        fail: { type: 'boolean', default: false },
        'max-reconsume': { type: 'string' },
        'stop-at-reconsume': { type: 'string', default: '0' },
        'access-key': { type: 'string' },
        'secret-key': { type: 'string' },
      },
    });
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`, 2);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const scenarios = [ 'produce', 'produce-ordered', 'consume' ];
  if (parsed.positionals.length !== 1 || !scenarios.includes(parsed.positionals[0])) {
    fail(`expected one SCENARIO of ${scenarios.join(', ')}, got ${JSON.stringify(parsed.positionals)}\n\n${USAGE}`, 2);
  }
  if (!v.namesrv) fail(`--namesrv is required\n\n${USAGE}`, 2);
  const num = (name, s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) fail(`--${name}: not a non-negative number: ${s}`, 2);
    return n;
  };
  const o = {
    scenario: parsed.positionals[0],
    namesrv: v.namesrv,
    topic: v.topic,
    count: num('count', v.count),
    start: num('start', v.start),
    prefix: v.prefix,
    tags: v.tags.split(',').map(s => s.trim()).filter(Boolean),
    shards: num('shards', v.shards),
    intervalMs: num('interval-ms', v['interval-ms']),
    continueOnError: v['continue-on-error'],
    expr: v.expr,
    model: v.model.toLowerCase(),
    from: v.from,
    idle: v.idle === undefined ? null : num('idle', v.idle),
    timeout: num('timeout', v.timeout),
    graceMs: num('grace-ms', v['grace-ms']),
    pollMs: num('poll-ms', v['poll-ms']),
    preflight: !v['no-preflight'],
    delay: v.delay.split(',').map(s => s.trim()).filter(Boolean).map(parseDelay),
    fail: v.fail,
    maxReconsume: v['max-reconsume'] === undefined ? null : num('max-reconsume', v['max-reconsume']),
    stopAtReconsume: num('stop-at-reconsume', v['stop-at-reconsume']),
    accessKey: v['access-key'],
    secretKey: v['secret-key'],
  };
  if (!o.delay.length) fail('--delay: empty list', 2);
  o.group = v.group || `interop_js_${o.scenario.replace(/-/g, '_')}`;
  if (!o.tags.length) fail('--tags: empty list', 2);
  if (o.shards < 1) fail('--shards must be >= 1', 2);
  if (![ 'clustering', 'broadcasting' ].includes(o.model)) fail(`--model: unknown ${o.model}`, 2);
  if (![ 'first', 'last' ].includes(o.from)) fail(`--from: unknown ${o.from}`, 2);
  if (!(o.timeout > 0 && o.timeout < 3600)) fail('--timeout must be in (0, 3600)', 2);
  return o;
}

// --delay SPEC: {kind, n}.
function parseDelay(spec) {
  if (spec === 'none') return { kind: 'none', n: 0 };
  const m = /^(level|start|deliver|delay-sec|delay-ms):\+?(\d+)$/.exec(spec);
  if (!m) fail(`--delay: bad spec ${spec}`, 2);
  return { kind: m[1], n: Number(m[2]) };
}

// Applies message i's --delay spec just before sending; returns the fields for the sent line.
function applyDelay(o, i, msg) {
  const d = o.delay[i % o.delay.length];
  const now = Date.now();
  const f = { sendTs: now };
  switch (d.kind) {
    case 'none':
      return f;
    case 'level':
      msg.delayTimeLevel = d.n;
      f.delayLevel = d.n;
      break;
    case 'start':
      msg.setStartDeliverTime(now + d.n);
      f.deliverAt = now + d.n;
      break;
    case 'deliver':
      msg.properties.TIMER_DELIVER_MS = String(now + d.n);
      f.deliverAt = now + d.n;
      break;
    case 'delay-sec':
      msg.properties.TIMER_DELAY_SEC = String(d.n);
      f.delayMs = d.n * 1000;
      break;
    case 'delay-ms':
      msg.properties.TIMER_DELAY_MS = String(d.n);
      f.delayMs = d.n;
      break;
    default:
      break;
  }
  f.delay = d.kind === 'level' ? `level:${d.n}` : d.kind.startsWith('delay-') ? `${d.kind}:${d.n}` : `${d.kind}:+${d.n}`;
  return f;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function log(...args) {
  process.stderr.write('[interop-js] ' + args.map(a => (a instanceof Error ? (a.stack || a.message) : typeof a === 'string' ? a : JSON.stringify(a))).join(' ') + '\n');
}

const verbose = /^(info|debug|trace)$/i.test(process.env.INTEROP_LOG || '');
const logger = {
  info: verbose ? (...a) => log(...a) : () => {},
  debug: () => {},
  warn: (...a) => log(...a),
  error: (...a) => log(...a),
};

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function preflight(addr) {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i) || '127.0.0.1';
  const port = Number(addr.slice(i + 1));
  return new Promise(resolve => {
    const sock = net.connect({ host, port });
    const done = err => {
      sock.destroy();
      resolve(err ? `nothing accepts connections on NameServer ${addr}: ${err.message || err}` : null);
    };
    sock.setTimeout(3000, () => done(new Error('connect timeout')));
    sock.once('connect', () => done(null));
    sock.once('error', done);
  });
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// ali-ons needs an `httpclient` only to fetch NameServer addresses over HTTP, which it never does
// when `nameSrv` is given; the constructor still asserts one is present.
const noHttp = { request: async () => { throw new Error('http disabled in the interop driver'); } };

function clientOptions(o, role) {
  const acl = o.accessKey ? { accessKeyId: o.accessKey, accessKeySecret: o.secretKey || '' } : {};
  return {
    ...acl,
    httpclient: noHttp,
    nameSrv: o.namesrv,
    logger,
    clientIP: '127.0.0.1',
    instanceName: `interop-${role}-${process.pid}`,
    pollNameServerInteval: o.pollMs,
    rebalanceInterval: o.pollMs,
  };
}

const body = (o, i) => `${o.prefix}-${i}`;
const key = (o, i) => `${o.prefix}-k${i}`;
const tag = (o, i) => o.tags[i % o.tags.length];

async function produce(o) {
  const { Producer, Message } = require('ali-ons');
  const producer = new Producer(Object.assign(clientOptions(o, 'p'), {
    producerGroup: o.group,
    sendMsgTimeout: 3000,
  }));
  producer.on('error', err => log('producer error:', String(err && err.message || err)));
  await withTimeout(producer.ready(), 15000, 'producer start');
  let ok = 0;
  let failed = 0;
  let workedAround = false;
  const deadline = Date.now() + o.timeout * 1000;

  const send = async msg => {
    try {
      return await producer.send(msg);
    } catch (err) {
      // ali-ons quirk: producer.send() asks the NameServer for the topic's route and throws on
      // TOPIC_NOT_EXIST (17) instead of falling back to the TBW102 template route as the Java
      // client does, so it cannot auto-create a topic. The fallback exists in the library
      // (updateTopicRouteInfoFromNameServer(topic, true, producer)) but is unreachable from
      // send(); the driver calls it once and retries, after which the request on the wire is
      // the same as Java's (defaultTopic "TBW102", defaultTopicQueueNums 4).
      if (err && err.name === 'MQClientException' && err.code === 17 && !workedAround) {
        workedAround = true;
        emit({ event: 'quirk', client: 'js', what: 'TOPIC_NOT_EXIST on first send; using the TBW102 route', topic: o.topic });
        await producer._mqClient.updateTopicRouteInfoFromNameServer(msg.topic, true, producer);
        return await producer.send(msg);
      }
      throw err;
    }
  };

  for (let i = o.start; i < o.start + o.count; i++) {
    if (Date.now() > deadline) {
      log('timeout while sending');
      failed += o.start + o.count - i;
      break;
    }
    const msg = new Message(o.topic, tag(o, i), body(o, i));
    msg.keys = [ key(o, i) ];
    let shard = null;
    if (o.scenario === 'produce-ordered') {
      shard = i % o.shards;
      msg.shardingKey = `${o.prefix}-s${shard}`;
    }
    const sched = o.scenario === 'produce' ? applyDelay(o, i, msg) : { sendTs: Date.now() };
    try {
      const r = await withTimeout(send(msg), 15000, 'send');
      ok++;
      const line = {
        event: 'sent', client: 'js', index: i,
        id: r.msgId, offsetMsgId: r.msgId, topic: o.topic, tags: tag(o, i), keys: key(o, i),
        // extFields arrive as JSON strings: normalise the numbers.
        queueId: r.messageQueue && r.messageQueue.queueId !== undefined ? Number(r.messageQueue.queueId) : null,
        queueOffset: Number(r.queueOffset),
        status: r.sendStatus, body: body(o, i), ts: Date.now(),
      };
      if (shard !== null) line.shard = shard;
      Object.assign(line, sched);
      emit(line);
    } catch (err) {
      failed++;
      emit({ event: 'send_failed', client: 'js', index: i, body: body(o, i), error: String(err && err.message || err), code: err && err.code });
      if (!o.continueOnError) {
        log(`send ${i} failed:`, err);
        break;
      }
    }
    if (o.intervalMs) await sleep(o.intervalMs);
  }
  try {
    await withTimeout(producer.close(), 10000, 'producer close');
  } catch (err) {
    log(err);
  }
  emit({ event: 'done', client: 'js', scenario: o.scenario, sent: ok, failed });
  return failed === 0 || (o.continueOnError && ok > 0);
}

async function consume(o) {
  const { Consumer } = require('ali-ons');
  const consumerOptions = {
    consumerGroup: o.group,
    isBroadcast: o.model === 'broadcasting',
    consumeFromWhere: o.from === 'first' ? 'CONSUME_FROM_FIRST_OFFSET' : 'CONSUME_FROM_LAST_OFFSET',
  };
  if (o.maxReconsume !== null) consumerOptions.maxReconsumeTimes = o.maxReconsume;
  const consumer = new Consumer(Object.assign(clientOptions(o, 'c'), consumerOptions));
  consumer.on('error', err => log('consumer error:', String(err && err.message || err)));
  const distinct = new Map();
  let total = 0;
  let lastNew = 0;
  consumer.subscribe(o.topic, o.expr, async msg => {
    const b = msg.body ? msg.body.toString('utf8') : '';
    const props = msg.properties || {};
    const line = {
      event: 'recv', client: 'js',
      id: props.UNIQ_KEY || msg.msgId, uniqKey: props.UNIQ_KEY || null, offsetMsgId: msg.msgId,
      topic: msg.topic,
      tags: msg.tags || null, keys: msg.keys || null, queueId: Number(msg.queueId),
      queueOffset: Number(msg.queueOffset), reconsumeTimes: msg.reconsumeTimes,
      bornTimestamp: Number(msg.bornTimestamp), storeTimestamp: Number(msg.storeTimestamp),
      retryTopic: props.RETRY_TOPIC || null, props,
      body: b, ts: Date.now(),
    };
    if (o.fail) line.failed = true;
    emit(line);
    total++;
    if (msg.reconsumeTimes >= o.stopAtReconsume) {
      if (!distinct.has(b)) lastNew = Date.now();
      distinct.set(b, (distinct.get(b) || 0) + 1);
    }
    if (o.fail) {
      // Thrown, not ACTION_RETRY: ali-ons's wrapper for %RETRY% messages drops the handler's
      // return value, so only an exception makes a redelivered message fail again.
      throw new Error(`interop driver: --fail (reconsumeTimes ${msg.reconsumeTimes})`);
    }
  });
  const t0 = Date.now();
  await withTimeout(consumer.ready(), 15000, 'consumer start');
  emit({ event: 'started', client: 'js', group: o.group, topic: o.topic, expr: o.expr, model: o.model.toUpperCase() });
  let reason = 'timeout';
  while (Date.now() - t0 < o.timeout * 1000) {
    if (distinct.size >= o.count) { reason = 'count'; break; }
    if (o.idle !== null && lastNew > 0 && Date.now() - lastNew >= o.idle * 1000) { reason = 'idle'; break; }
    await sleep(100);
  }
  await sleep(o.graceMs);
  try {
    await withTimeout(consumer.close(), 15000, 'consumer close');
  } catch (err) {
    log(err);
  }
  emit({ event: 'done', client: 'js', scenario: o.scenario, received: total, distinct: distinct.size, reason });
  return reason === 'count' || (o.idle !== null && reason === 'idle');
}

async function main() {
  const o = parse(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${o.timeout + 20}s, exiting`);
    process.exit(3);
  }, (o.timeout + 20) * 1000);
  watchdog.unref();
  if (o.preflight) {
    const err = await preflight(o.namesrv);
    if (err) {
      log(err);
      emit({ event: 'error', client: 'js', error: err });
      return 2;
    }
  }
  const ok = o.scenario === 'consume' ? await consume(o) : await produce(o);
  return ok ? 0 : 1;
}

main().then(
  code => {
    // ali-ons leaves timers (scheduled tasks, sockets) behind; exit explicitly.
    process.stdout.write('', () => process.exit(code));
  },
  err => {
    log('fatal:', err);
    emit({ event: 'error', client: 'js', error: String(err && err.message || err) });
    process.stdout.write('', () => process.exit(1));
  },
);
