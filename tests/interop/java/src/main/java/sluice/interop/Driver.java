package sluice.interop;

import com.alibaba.fastjson.JSON;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/**
 * sluice interop driver for the Apache RocketMQ Java client (org.apache.rocketmq:rocketmq-client
 * 4.9.8, the remoting client, language JAVA).
 *
 * <p>Usage: {@code java sluice.interop.Driver SCENARIO --namesrv HOST:PORT [options]} (see USAGE).
 * One JSON line per sent or received message on stdout, like the other drivers of
 * tests/interop; logs on stderr. Exit 0: goal met; 1: not met; 2: bad arguments or nothing
 * listening on the NameServer address; 3: the watchdog fired at --timeout + 20 s.
 */
public final class Driver {
    static final String USAGE = String.join("\n",
        "usage: Driver SCENARIO --namesrv HOST:PORT [options]",
        "",
        "scenarios:",
        "  produce              sync sends (--delay, --props, --body-size)",
        "  produce-async        async sends, all in flight at once",
        "  produce-oneway       one-way sends (nothing is acknowledged: sent lines carry no ids)",
        "  produce-batch        send(Collection) in batches of --batch-size",
        "  produce-ordered      send with a MessageQueueSelector: shard = i % --shards",
        "  produce-transaction  TransactionMQProducer, plan --tx (commit, rollback, unknown-commit,",
        "                       unknown-rollback, unknown) per message; answers check-backs",
        "  consume              DefaultMQPushConsumer, concurrent listener",
        "  consume-orderly      DefaultMQPushConsumer, orderly listener (queue locks)",
        "  lite-pull            DefaultLitePullConsumer (--assign: every queue of the topic; else subscribe)",
        "  query                queryMessage(--key) and viewMessage(--msg-id offset id / --uniq-id)",
        "  queue-offsets        per queue of --topic: min/max offset, earliest store time, searchOffset(--at MS)",
        "",
        "options: --topic T --group G --prefix P --count N --start I --tags A,B --shards N",
        "  --batch-size N --body-size BYTES (pads each body past '|') --props k=v,k2=v2",
        "  --delay SPEC,... (none, level:N, deliver:+MS, delay-sec:S, delay-ms:MS, start:+MS)",
        "  --expr E --model clustering|broadcasting --from first|last|timestamp:yyyyMMddHHmmss|timestamp-ms:MS",
        "  --idle S --timeout S --grace-ms MS --fail --max-reconsume N --stop-at-reconsume K",
        "  --namespace NS --unit-name U --unit-mode --trace --assign --tx PLAN,... --linger-ms MS --raw (print bodies whole)",
        "  --key K --msg-id ID --uniq-id ID --expect N --at EPOCH_MS",
        "  --extra-key (keys \"<prefix>-k<i> <prefix>-x<i>\") --sql EXPR (a SQL92 subscription)",
        "  --access-key AK --secret-key SK (ACL 1.0: AclClientRPCHook signs every request)",
        "  create-topic         producer.createTopic(TBW102, --topic, 4): UPDATE_AND_CREATE_TOPIC",
        "");

    static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
        StandardCharsets.UTF_8);

    // ---- options ----
    String scenario;
    String namesrv;
    String topic = "InteropTopic";
    String group;
    String prefix = "msg";
    long count = 10;
    long start = 0;
    String[] tags = {"TagA"};
    long shards = 4;
    int batchSize = 10;
    int bodySize = 0;
    Map<String, String> props = new LinkedHashMap<>();
    String[] delay;
    String expr = "*";
    boolean broadcasting = false;
    String from = "first";
    Double idle;
    double timeout = 60;
    long graceMs = 1000;
    boolean fail = false;
    Integer maxReconsume;
    int stopAtReconsume = 0;
    String namespace;
    boolean trace = false;
    String unitName;
    boolean unitMode = false;
    boolean assign = false;
    String[] tx = {"commit", "rollback"};
    long lingerMs = 0;
    boolean raw = false;
    List<String> keys = new ArrayList<>();
    List<String> msgIds = new ArrayList<>();
    List<String> uniqIds = new ArrayList<>();
    Long expect;
    Long at;
    boolean extraKey = false;
    String sql;
    String accessKey;
    String secretKey;

    /** ACL 1.0 signing (AclClientRPCHook) when --access-key is given. */
    RPCHook hook() {
        return accessKey == null ? null : new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    static long now() {
        return System.currentTimeMillis();
    }

    static synchronized void emit(Map<String, Object> m) {
        OUT.println(JSON.toJSONString(m));
    }

    static void log(String s) {
        System.err.println("java-driver: " + s);
    }

    static Map<String, Object> line(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    void parse(String[] args) {
        if (args.length == 0) {
            throw new IllegalArgumentException("a scenario is required");
        }
        scenario = args[0];
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--fail": fail = true; continue;
                case "--trace": trace = true; continue;
                case "--unit-mode": unitMode = true; continue;
                case "--assign": assign = true; continue;
                case "--raw": raw = true; continue;
                case "--extra-key": extraKey = true; continue;
                default: break;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--namesrv": namesrv = v; break;
                case "--topic": topic = v; break;
                case "--group": group = v; break;
                case "--prefix": prefix = v; break;
                case "--count": count = Long.parseLong(v); break;
                case "--start": start = Long.parseLong(v); break;
                case "--tags": tags = v.split(","); break;
                case "--shards": shards = Long.parseLong(v); break;
                case "--batch-size": batchSize = Integer.parseInt(v); break;
                case "--body-size": bodySize = Integer.parseInt(v); break;
                case "--props":
                    for (String kv : v.split(",")) {
                        int eq = kv.indexOf('=');
                        if (eq <= 0) {
                            throw new IllegalArgumentException("--props: want k=v, got " + kv);
                        }
                        props.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                    break;
                case "--delay": delay = v.split(","); break;
                case "--expr": expr = v; break;
                case "--model":
                    if (!v.equals("clustering") && !v.equals("broadcasting")) {
                        throw new IllegalArgumentException("--model: clustering or broadcasting");
                    }
                    broadcasting = v.equals("broadcasting");
                    break;
                case "--from": from = v; break;
                case "--idle": idle = Double.parseDouble(v); break;
                case "--timeout": timeout = Double.parseDouble(v); break;
                case "--grace-ms": graceMs = Long.parseLong(v); break;
                case "--max-reconsume": maxReconsume = Integer.parseInt(v); break;
                case "--stop-at-reconsume": stopAtReconsume = Integer.parseInt(v); break;
                case "--namespace": namespace = v; break;
                case "--unit-name": unitName = v; break;
                case "--tx": tx = v.split(","); break;
                case "--linger-ms": lingerMs = Long.parseLong(v); break;
                case "--key": keys.add(v); break;
                case "--msg-id": msgIds.add(v); break;
                case "--uniq-id": uniqIds.add(v); break;
                case "--expect": expect = Long.parseLong(v); break;
                case "--at": at = Long.parseLong(v); break;
                case "--sql": sql = v; break;
                case "--access-key": accessKey = v; break;
                case "--secret-key": secretKey = v; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (namesrv == null) {
            throw new IllegalArgumentException("--namesrv is required");
        }
        if (shards <= 0 || batchSize <= 0 || tags.length == 0 || tx.length == 0) {
            throw new IllegalArgumentException("--shards, --batch-size, --tags, --tx must be non-empty");
        }
        if (group == null) {
            group = "interop_java_" + scenario.replace('-', '_');
        }
    }

    // ---- messages ----

    String bodyOf(long i) {
        return prefix + "-" + i;
    }

    /** The body: "<prefix>-<i>", padded past a '|' to --body-size bytes with a checkable pattern. */
    byte[] payload(long i) {
        String b = bodyOf(i);
        if (bodySize <= b.length() + 1) {
            return b.getBytes(StandardCharsets.UTF_8);
        }
        StringBuilder sb = new StringBuilder(bodySize).append(b).append('|');
        for (int j = 0; sb.length() < bodySize; j++) {
            sb.append((char) ('a' + (j % 26)));
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The message name and whether the padding (if any) arrived intact. */
    static Object[] unpad(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        int bar = s.indexOf('|');
        if (bar < 0) {
            return new Object[] {s, true};
        }
        boolean ok = true;
        for (int j = bar + 1; j < s.length(); j++) {
            if (s.charAt(j) != (char) ('a' + ((j - bar - 1) % 26))) {
                ok = false;
                break;
            }
        }
        return new Object[] {s.substring(0, bar), ok};
    }

    Message build(long i, Map<String, Object> sentExtra) {
        String keys = prefix + "-k" + i + (extraKey ? MessageConst.KEY_SEPARATOR + prefix + "-x" + i : "");
        Message m = new Message(topic, tags[(int) (i % tags.length)], keys, payload(i));
        for (Map.Entry<String, String> e : props.entrySet()) {
            m.putUserProperty(e.getKey(), e.getValue());
        }
        if (delay != null) {
            String spec = delay[(int) (i % delay.length)];
            long t = now();
            sentExtra.put("sendTs", t);
            sentExtra.put("delay", spec);
            String[] kv = spec.split(":", 2);
            String kind = kv[0];
            long n = kv.length > 1 ? Long.parseLong(kv[1].replace("+", "")) : 0;
            switch (kind) {
                case "none": sentExtra.remove("delay"); break;
                case "level":
                    m.setDelayTimeLevel((int) n);
                    sentExtra.put("delayLevel", n);
                    break;
                case "deliver":
                    MessageAccessor.putProperty(m, "TIMER_DELIVER_MS", Long.toString(t + n));
                    sentExtra.put("deliverAt", t + n);
                    break;
                case "delay-sec":
                    MessageAccessor.putProperty(m, "TIMER_DELAY_SEC", Long.toString(n));
                    sentExtra.put("delayMs", n * 1000);
                    break;
                case "delay-ms":
                    MessageAccessor.putProperty(m, "TIMER_DELAY_MS", Long.toString(n));
                    sentExtra.put("delayMs", n);
                    break;
                case "start":
                    MessageAccessor.putProperty(m, "__STARTDELIVERTIME", Long.toString(t + n));
                    sentExtra.put("deliverAt", t + n);
                    break;
                default: throw new IllegalArgumentException("--delay: unknown kind " + kind);
            }
        }
        return m;
    }

    Map<String, Object> sentLine(long i, Message m, SendResult r, Map<String, Object> extra) {
        Map<String, Object> v = line("event", "sent", "client", "java", "index", i, "body", bodyOf(i),
            "topic", topic, "tags", m.getTags(), "keys", m.getKeys(), "size", m.getBody().length);
        if (r != null) {
            v.put("id", r.getMsgId());
            v.put("offsetMsgId", r.getOffsetMsgId());
            v.put("queueId", r.getMessageQueue().getQueueId());
            v.put("queueOffset", r.getQueueOffset());
            v.put("status", r.getSendStatus().toString());
            v.put("regionId", r.getRegionId());
        }
        if (!props.isEmpty()) {
            v.put("props", props);
        }
        v.putAll(extra);
        v.put("ts", now());
        return v;
    }

    Map<String, Object> msgLine(String event, MessageExt m) {
        Object[] u = unpad(m.getBody());
        Map<String, Object> v = line("event", event, "client", "java", "body", raw ? new String(m.getBody(),
                StandardCharsets.UTF_8) : u[0],
            "bodyIntact", u[1], "size", m.getBody().length, "id", m.getMsgId(), "uniqKey",
            m.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
            "topic", m.getTopic(), "tags", m.getTags(), "keys", m.getKeys(), "queueId", m.getQueueId(),
            "queueOffset", m.getQueueOffset(), "reconsumeTimes", m.getReconsumeTimes(),
            "bornTimestamp", m.getBornTimestamp(), "storeTimestamp", m.getStoreTimestamp(),
            "sysFlag", m.getSysFlag(), "retryTopic", m.getProperty(MessageConst.PROPERTY_RETRY_TOPIC),
            "properties", m.getProperties(), "ts", now());
        return v;
    }

    void common(org.apache.rocketmq.client.ClientConfig c) {
        c.setNamesrvAddr(namesrv);
        c.setPollNameServerInterval(2000);
        c.setHeartbeatBrokerInterval(2000);
        c.setPersistConsumerOffsetInterval(2000);
        if (namespace != null) {
            c.setNamespace(namespace);
        }
        if (unitName != null) {
            c.setUnitName(unitName);
        }
        c.setUnitMode(unitMode);
    }

    // ---- producers ----

    DefaultMQProducer producer() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group, hook(), trace, null);
        common(p);
        p.setSendMsgTimeout(10000);
        p.start();
        return p;
    }

    boolean createTopic() throws Exception {
        DefaultMQProducer p = producer();
        try {
            p.createTopic("TBW102", topic, 4);
            emit(line("event", "created", "client", "java", "topic", topic));
            return true;
        } catch (Exception e) {
            emit(line("event", "create_failed", "client", "java", "topic", topic, "error", e.toString()));
            return false;
        } finally {
            p.shutdown();
        }
    }

    boolean produce() throws Exception {
        DefaultMQProducer p = producer();
        long ok = 0;
        long failed = 0;
        final long end = start + count;
        try {
            switch (scenario) {
                case "produce":
                case "produce-ordered":
                case "produce-oneway":
                    for (long i = start; i < end; i++) {
                        Map<String, Object> extra = new LinkedHashMap<>();
                        Message m = build(i, extra);
                        try {
                            SendResult r = null;
                            if (scenario.equals("produce-ordered")) {
                                long shard = i % shards;
                                extra.put("shard", shard);
                                r = p.send(m, (mqs, msg, arg) -> mqs.get((int) ((Long) arg % mqs.size())), shard);
                            } else if (scenario.equals("produce-oneway")) {
                                p.sendOneway(m);
                                extra.put("mode", "oneway");
                            } else {
                                r = p.send(m);
                            }
                            ok++;
                            emit(sentLine(i, m, r, extra));
                        } catch (Exception e) {
                            failed++;
                            emit(line("event", "send_failed", "client", "java", "index", i, "body", bodyOf(i),
                                "error", e.toString()));
                            break;
                        }
                    }
                    break;
                case "produce-async": {
                    CountDownLatch done = new CountDownLatch((int) count);
                    AtomicLong okA = new AtomicLong();
                    AtomicLong failA = new AtomicLong();
                    for (long i = start; i < end; i++) {
                        final long idx = i;
                        final Map<String, Object> extra = new LinkedHashMap<>();
                        extra.put("mode", "async");
                        final Message m = build(i, extra);
                        p.send(m, new SendCallback() {
                            @Override
                            public void onSuccess(SendResult r) {
                                okA.incrementAndGet();
                                emit(sentLine(idx, m, r, extra));
                                done.countDown();
                            }

                            @Override
                            public void onException(Throwable e) {
                                failA.incrementAndGet();
                                emit(line("event", "send_failed", "client", "java", "index", idx, "body",
                                    bodyOf(idx), "error", e.toString()));
                                done.countDown();
                            }
                        });
                    }
                    done.await((long) (timeout * 1000), TimeUnit.MILLISECONDS);
                    ok = okA.get();
                    failed = count - ok;
                    break;
                }
                case "produce-batch":
                    for (long i = start; i < end; i += batchSize) {
                        List<Message> batch = new ArrayList<>();
                        List<Map<String, Object>> extras = new ArrayList<>();
                        for (long k = i; k < Math.min(end, i + batchSize); k++) {
                            Map<String, Object> extra = new LinkedHashMap<>();
                            extra.put("mode", "batch");
                            extra.put("batch", (i - start) / batchSize);
                            batch.add(build(k, extra));
                            extras.add(extra);
                        }
                        try {
                            SendResult r = p.send(batch);
                            // One result for the batch: ids comma-joined, the first offset.
                            String[] ids = r.getMsgId() == null ? new String[0] : r.getMsgId().split(",");
                            String[] offIds = r.getOffsetMsgId() == null ? new String[0] : r.getOffsetMsgId().split(",");
                            for (int k = 0; k < batch.size(); k++) {
                                Map<String, Object> v = sentLine(i + k, batch.get(k), r, extras.get(k));
                                v.put("id", k < ids.length ? ids[k] : null);
                                v.put("offsetMsgId", k < offIds.length ? offIds[k] : null);
                                v.put("queueOffset", r.getQueueOffset() + k);
                                emit(v);
                                ok++;
                            }
                        } catch (Exception e) {
                            failed += batch.size();
                            emit(line("event", "send_failed", "client", "java", "index", i, "body", bodyOf(i),
                                "error", e.toString()));
                            break;
                        }
                    }
                    break;
                default:
                    throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } finally {
            p.shutdown();
        }
        emit(line("event", "done", "client", "java", "scenario", scenario, "sent", ok, "failed", failed));
        return failed == 0 && ok == count;
    }

    // ---- transactions ----

    static LocalTransactionState execState(String plan) {
        switch (plan) {
            case "commit": return LocalTransactionState.COMMIT_MESSAGE;
            case "rollback": return LocalTransactionState.ROLLBACK_MESSAGE;
            default: return LocalTransactionState.UNKNOW;
        }
    }

    static LocalTransactionState checkState(String plan) {
        switch (plan) {
            case "commit":
            case "unknown-commit": return LocalTransactionState.COMMIT_MESSAGE;
            case "rollback":
            case "unknown-rollback": return LocalTransactionState.ROLLBACK_MESSAGE;
            default: return LocalTransactionState.UNKNOW;
        }
    }

    static String stateName(LocalTransactionState s) {
        switch (s) {
            case COMMIT_MESSAGE: return "commit";
            case ROLLBACK_MESSAGE: return "rollback";
            default: return "unknown";
        }
    }

    boolean produceTransaction() throws Exception {
        Map<String, Long> checkCount = new ConcurrentHashMap<>();
        Set<String> decided = ConcurrentHashMap.newKeySet();
        TransactionMQProducer p = new TransactionMQProducer(group);
        common(p);
        p.setSendMsgTimeout(10000);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return execState((String) arg);
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String body = (String) unpad(msg.getBody())[0];
                long idx;
                try {
                    idx = Long.parseLong(body.substring(body.lastIndexOf('-') + 1));
                } catch (NumberFormatException e) {
                    idx = -1;
                }
                LocalTransactionState st = idx < 0 ? LocalTransactionState.ROLLBACK_MESSAGE
                    : checkState(tx[(int) (idx % tx.length)]);
                long n = checkCount.merge(body, 1L, Long::sum);
                if (st != LocalTransactionState.UNKNOW) {
                    decided.add(body);
                }
                emit(line("event", "check", "client", "java", "body", body, "id",
                    msg.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
                    "transactionId", msg.getTransactionId(),
                    "checkTimes", msg.getProperty(MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES),
                    "topic", msg.getTopic(), "answer", stateName(st), "n", n, "ts", now()));
                return st;
            }
        });
        p.start();
        emit(line("event", "started", "client", "java", "group", group, "topic", topic));
        long deadline = now() + (long) (timeout * 1000);
        long ok = 0;
        long failed = 0;
        long awaiting = 0;
        for (long i = start; i < start + count; i++) {
            String plan = tx[(int) (i % tx.length)];
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("sendTs", now());
            Message m = build(i, extra);
            try {
                TransactionSendResult r = p.sendMessageInTransaction(m, plan);
                ok++;
                if (plan.startsWith("unknown-")) {
                    awaiting++;
                }
                extra.put("transaction", String.valueOf(r.getLocalTransactionState()));
                extra.put("tx", plan);
                extra.put("commit", checkState(plan) == LocalTransactionState.COMMIT_MESSAGE);
                emit(sentLine(i, m, r, extra));
            } catch (Exception e) {
                failed++;
                emit(line("event", "send_failed", "client", "java", "index", i, "body", bodyOf(i), "error",
                    e.toString()));
                break;
            }
        }
        long want = expect != null ? expect : awaiting;
        while (decided.size() < want && now() < deadline) {
            Thread.sleep(100);
        }
        boolean met = decided.size() >= want;
        Thread.sleep(lingerMs);
        long total = checkCount.values().stream().mapToLong(Long::longValue).sum();
        p.shutdown();
        emit(line("event", "done", "client", "java", "scenario", scenario, "sent", ok, "failed", failed, "checks",
            total, "decidedByCheck", decided.size(), "awaitedChecks", want));
        return failed == 0 && met;
    }

    // ---- consumers ----

    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final AtomicLong total = new AtomicLong();
    final AtomicLong lastNew = new AtomicLong();

    /** Records a delivery; true when the listener should fail it (--fail). */
    boolean record(MessageExt m) {
        Map<String, Object> v = msgLine("recv", m);
        emit(v);
        total.incrementAndGet();
        if (m.getReconsumeTimes() >= stopAtReconsume && seen.add((String) v.get("body"))) {
            lastNew.set(now());
        }
        return fail;
    }

    ConsumeFromWhere fromWhere(DefaultMQPushConsumer c) {
        if (from.equals("first")) {
            return ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET;
        }
        if (from.equals("last")) {
            return ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET;
        }
        if (from.startsWith("timestamp-ms:")) {
            long ms = Long.parseLong(from.substring("timestamp-ms:".length()));
            // The client parses it in the JVM's time zone, as it is formatted here.
            c.setConsumeTimestamp(new java.text.SimpleDateFormat("yyyyMMddHHmmss").format(new java.util.Date(ms)));
            return ConsumeFromWhere.CONSUME_FROM_TIMESTAMP;
        }
        if (from.startsWith("timestamp:")) {
            c.setConsumeTimestamp(from.substring("timestamp:".length()));
            return ConsumeFromWhere.CONSUME_FROM_TIMESTAMP;
        }
        throw new IllegalArgumentException("--from: first, last, timestamp:yyyyMMddHHmmss or timestamp-ms:EPOCH_MS");
    }

    boolean consume() throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, hook(), new AllocateMessageQueueAveragely(), trace, null);
        common(c);
        c.setMessageModel(broadcasting ? MessageModel.BROADCASTING : MessageModel.CLUSTERING);
        c.setConsumeFromWhere(fromWhere(c));
        c.setConsumeThreadMin(2);
        c.setConsumeThreadMax(4);
        c.setSuspendCurrentQueueTimeMillis(200);
        if (maxReconsume != null) {
            c.setMaxReconsumeTimes(maxReconsume);
        }
        if (sql != null) {
            c.subscribe(topic, MessageSelector.bySql(sql));
        } else {
            c.subscribe(topic, expr);
        }
        if (scenario.equals("consume-orderly")) {
            // --fail: the queue is suspended and the batch retried locally; past
            // maxReconsumeTimes the client sends it to %RETRY%<group>, which the broker turns
            // into %DLQ%<group>.
            c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                boolean f = false;
                for (MessageExt m : msgs) {
                    f |= record(m);
                }
                return f ? ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT : ConsumeOrderlyStatus.SUCCESS;
            });
        } else {
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                boolean f = false;
                for (MessageExt m : msgs) {
                    f |= record(m);
                }
                return f ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        }
        long t0 = now();
        c.start();
        emit(line("event", "started", "client", "java", "group", group, "topic", topic, "expr", expr, "model",
            broadcasting ? "BROADCASTING" : "CLUSTERING"));
        String reason = waitFor(t0);
        Thread.sleep(graceMs);
        c.shutdown();
        emit(line("event", "done", "client", "java", "scenario", scenario, "received", total.get(), "distinct",
            seen.size(), "reason", reason));
        return reason.equals("count") || (idle != null && reason.equals("idle"));
    }

    String waitFor(long t0) throws InterruptedException {
        long deadline = t0 + (long) (timeout * 1000);
        while (now() < deadline) {
            if (seen.size() >= count) {
                return "count";
            }
            long last = lastNew.get();
            if (idle != null && last > 0 && now() - last >= idle * 1000) {
                return "idle";
            }
            Thread.sleep(100);
        }
        return "timeout";
    }

    boolean litePull() throws Exception {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        common(c);
        c.setAutoCommit(true);
        c.setAutoCommitIntervalMillis(1000);
        c.setMessageModel(broadcasting ? MessageModel.BROADCASTING : MessageModel.CLUSTERING);
        c.setConsumeFromWhere(from.equals("last") ? ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET
            : ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollTimeoutMillis(1000);
        long t0 = now();
        if (assign) {
            c.start();
            Collection<MessageQueue> mqs = c.fetchMessageQueues(topic);
            c.assign(mqs);
            for (MessageQueue mq : mqs) {
                c.seekToBegin(mq);
            }
            emit(line("event", "started", "client", "java", "group", group, "topic", topic, "mode", "assign",
                "queues", mqs.size()));
        } else {
            c.subscribe(topic, expr);
            c.start();
            emit(line("event", "started", "client", "java", "group", group, "topic", topic, "mode", "subscribe"));
        }
        long deadline = t0 + (long) (timeout * 1000);
        String reason = "timeout";
        while (now() < deadline) {
            for (MessageExt m : c.poll(500)) {
                record(m);
            }
            if (seen.size() >= count) {
                reason = "count";
                break;
            }
            long last = lastNew.get();
            if (idle != null && last > 0 && now() - last >= idle * 1000) {
                reason = "idle";
                break;
            }
        }
        c.commitSync();
        Thread.sleep(graceMs);
        c.shutdown();
        emit(line("event", "done", "client", "java", "scenario", scenario, "received", total.get(), "distinct",
            seen.size(), "reason", reason));
        return reason.equals("count") || (idle != null && reason.equals("idle"));
    }

    // ---- query ----

    boolean query() throws Exception {
        DefaultMQProducer p = producer();
        boolean ok = true;
        try {
            long end = now() + 60_000;
            for (String k : keys) {
                QueryResult r = p.queryMessage(topic, k, 32, 0, end);
                for (MessageExt m : r.getMessageList()) {
                    Map<String, Object> v = msgLine("found", m);
                    v.put("query", line("key", k));
                    emit(v);
                }
                ok &= !r.getMessageList().isEmpty();
                emit(line("event", "query_done", "client", "java", "key", k, "found", r.getMessageList().size()));
            }
            for (String id : msgIds) {
                try {
                    MessageExt m = p.viewMessage(id);
                    Map<String, Object> v = msgLine("found", m);
                    v.put("query", line("msgId", id));
                    emit(v);
                } catch (Exception e) {
                    ok = false;
                    emit(line("event", "query_failed", "client", "java", "msgId", id, "error", e.toString()));
                }
            }
            for (String id : uniqIds) {
                try {
                    MessageExt m = p.viewMessage(topic, id);
                    Map<String, Object> v = msgLine("found", m);
                    v.put("query", line("uniqId", id));
                    emit(v);
                } catch (Exception e) {
                    ok = false;
                    emit(line("event", "query_failed", "client", "java", "uniqId", id, "error", e.toString()));
                }
            }
        } finally {
            p.shutdown();
        }
        return ok;
    }

    /** One line per queue of the topic: the MQAdmin offset look-ups a producer offers. */
    boolean queueOffsets() throws Exception {
        DefaultMQProducer p = producer();
        try {
            for (MessageQueue mq : p.fetchPublishMessageQueues(topic)) {
                Map<String, Object> v = line("event", "queue", "client", "java", "topic", topic, "brokerName",
                    mq.getBrokerName(), "queueId", mq.getQueueId(), "minOffset", p.minOffset(mq), "maxOffset",
                    p.maxOffset(mq), "earliestMsgStoreTime", p.earliestMsgStoreTime(mq));
                if (at != null) {
                    v.put("at", at);
                    v.put("searchOffset", p.searchOffset(mq, at));
                }
                emit(v);
            }
        } finally {
            p.shutdown();
        }
        return true;
    }

    // ---- main ----

    static void preflight(String namesrv) {
        int colon = namesrv.lastIndexOf(':');
        String host = namesrv.substring(0, colon);
        int port = Integer.parseInt(namesrv.substring(colon + 1));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3000);
        } catch (Exception e) {
            throw new IllegalStateException("nothing accepts connections on " + namesrv + ": " + e);
        }
    }

    public static void main(String[] args) {
        Driver d = new Driver();
        try {
            d.parse(args);
        } catch (RuntimeException e) {
            if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
                OUT.print(USAGE);
                System.exit(0);
            }
            System.err.println("java-driver: " + e.getMessage() + "\n\n" + USAGE);
            System.exit(2);
        }
        // Faster rebalancing than the 20 s default, so split and broadcast tests settle quickly.
        System.setProperty("rocketmq.client.rebalance.waitInterval", "2000");
        try {
            preflight(d.namesrv);
        } catch (RuntimeException e) {
            log(e.getMessage());
            emit(line("event", "error", "client", "java", "error", e.getMessage()));
            System.exit(2);
        }
        final long hard = (long) ((d.timeout + 20) * 1000);
        Thread dog = new Thread(() -> {
            try {
                Thread.sleep(hard);
            } catch (InterruptedException e) {
                return;
            }
            log("watchdog: still running after " + hard + " ms, exiting");
            OUT.flush();
            Runtime.getRuntime().halt(3);
        });
        dog.setDaemon(true);
        dog.start();
        boolean ok;
        try {
            switch (d.scenario) {
                case "produce":
                case "produce-async":
                case "produce-oneway":
                case "produce-batch":
                case "produce-ordered":
                    ok = d.produce();
                    break;
                case "produce-transaction":
                    ok = d.produceTransaction();
                    break;
                case "consume":
                case "consume-orderly":
                    ok = d.consume();
                    break;
                case "lite-pull":
                    ok = d.litePull();
                    break;
                case "query":
                    ok = d.query();
                    break;
                case "queue-offsets":
                    ok = d.queueOffsets();
                    break;
                case "create-topic":
                    ok = d.createTopic();
                    break;
                default:
                    System.err.println("java-driver: unknown scenario " + d.scenario + "\n\n" + USAGE);
                    System.exit(2);
                    return;
            }
        } catch (Throwable e) {
            log("failed: " + e);
            e.printStackTrace();
            emit(line("event", "error", "client", "java", "error", e.toString()));
            ok = false;
        }
        OUT.flush();
        // The client leaves non-daemon threads behind after shutdown in some paths: exit hard.
        Runtime.getRuntime().halt(ok ? 0 : 1);
    }
}
