package sluice.bench;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

/**
 * The producer load of {@code sluice bench broker --load java}: the Apache RocketMQ Java client
 * (DefaultMQProducer, through the NameServer, as an application sends) in {@code --threads}
 * threads, each keeping up to {@code --inflight} sends outstanding (1: {@code send}, the
 * synchronous call; more: {@code send(msg, callback)} under a semaphore), {@code --batch} messages
 * per send (more than 1: the client's batch send). Closed loop. Sends started after the warm-up
 * count: their round-trip latencies (microseconds) go to {@code --latencies} as big-endian longs.
 *
 * <p>Stdout, one line each: {@code progress SENT ERRORS} every 250 ms (messages acknowledged since
 * the start, warm-up included), then {@code done MSGS REQUESTS ERRORS ELAPSED_S SENT_TOTAL} and, if
 * a send failed, {@code first-error TEXT}. The client's retries are off: a failed send is an error,
 * not a hidden second round trip.
 */
public final class Load {
    static final PrintStream OUT = new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), true,
        StandardCharsets.UTF_8);

    String namesrv;
    String[] topics = {"BenchT0"};
    int threads = 16;
    int inflight = 1;
    int batch = 1;
    int size = 1024;
    long warmupMs = 1000;
    long durationMs = 10000;
    String latencies;

    final AtomicLong sentTotal = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicReference<String> firstError = new AtomicReference<>();

    /** One thread's window figures (its sends and callbacks write here). */
    static final class Window {
        long[] lat = new long[1 << 16];
        int n;
        long msgs;
        long requests;
        long lastEnd;

        synchronized void record(long startNs, long endNs, int msgs) {
            if (n == lat.length) {
                lat = Arrays.copyOf(lat, n * 2);
            }
            lat[n++] = Math.max(0, (endNs - startNs) / 1000);
            this.msgs += msgs;
            requests++;
            lastEnd = Math.max(lastEnd, endNs);
        }
    }

    public static void main(String[] args) throws Exception {
        int code;
        try {
            Load l = new Load();
            l.parse(args);
            code = l.run();
        } catch (Throwable e) {
            // The client's threads are not daemons: exit, or the JVM outlives the failure.
            e.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--namesrv": namesrv = v; break;
                case "--topics": topics = v.split(","); break;
                case "--threads": threads = Integer.parseInt(v); break;
                case "--inflight": inflight = Integer.parseInt(v); break;
                case "--batch": batch = Integer.parseInt(v); break;
                case "--size": size = Integer.parseInt(v); break;
                case "--warmup-ms": warmupMs = Long.parseLong(v); break;
                case "--duration-ms": durationMs = Long.parseLong(v); break;
                case "--latencies": latencies = v; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (namesrv == null || latencies == null) {
            throw new IllegalArgumentException("--namesrv and --latencies are required");
        }
        if (threads <= 0 || inflight <= 0 || batch <= 0 || size <= 0 || topics.length == 0) {
            throw new IllegalArgumentException("threads, inflight, batch and size must be positive");
        }
    }

    void error(String e) {
        errors.incrementAndGet();
        firstError.compareAndSet(null, e);
    }

    List<Message> messages(String topic, byte[] body) {
        List<Message> out = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            out.add(new Message(topic, "TagA", body));
        }
        return out;
    }

    int run() throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("sluice_bench_java");
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("sluice-bench-" + ProcessHandle.current().pid());
        p.setRetryTimesWhenSendFailed(0);
        p.setRetryTimesWhenSendAsyncFailed(0);
        p.setSendMsgTimeout(10000);
        p.start();
        // Routes first (one synchronous send per topic), outside the timed load.
        byte[] body = new byte[size];
        for (int i = 0; i < size; i++) {
            body[i] = (byte) ('a' + i % 26);
        }
        // A broker may register a topic it just created with its NameServer a little later
        // (Apache RocketMQ 5.3 does): retry until the route is there, up to a minute.
        long routeDeadline = System.nanoTime() + 60_000_000_000L;
        for (String t : topics) {
            while (true) {
                try {
                    SendResult r = p.send(new Message(t, "TagA", body));
                    if (r.getSendStatus() != SendStatus.SEND_OK) {
                        throw new IllegalStateException("route warm-up send to " + t + ": " + r.getSendStatus());
                    }
                    break;
                } catch (org.apache.rocketmq.client.exception.MQClientException e) {
                    if (System.nanoTime() > routeDeadline) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
        }
        long t0 = System.nanoTime();
        long windowStart = t0 + warmupMs * 1_000_000L;
        long end = windowStart + durationMs * 1_000_000L;
        Window[] windows = new Window[threads];
        Thread[] workers = new Thread[threads];
        for (int w = 0; w < threads; w++) {
            Window win = windows[w] = new Window();
            String topic = topics[w % topics.length];
            workers[w] = new Thread(() -> work(p, topic, body, win, windowStart, end), "load-" + w);
            workers[w].start();
        }
        Thread progress = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(250);
                    OUT.println("progress " + sentTotal.get() + " " + errors.get());
                }
            } catch (InterruptedException e) {
                // done
            }
        }, "progress");
        progress.setDaemon(true);
        progress.start();
        for (Thread t : workers) {
            t.join();
        }
        progress.interrupt();
        long msgs = 0;
        long requests = 0;
        long lastEnd = windowStart;
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(latencies)))) {
            for (Window win : windows) {
                synchronized (win) {
                    for (int i = 0; i < win.n; i++) {
                        out.writeLong(win.lat[i]);
                    }
                    msgs += win.msgs;
                    requests += win.requests;
                    lastEnd = Math.max(lastEnd, win.lastEnd);
                }
            }
        }
        double elapsed = Math.max(lastEnd - windowStart, 1) / 1e9;
        OUT.println("done " + msgs + " " + requests + " " + errors.get() + " " + elapsed + " " + sentTotal.get());
        String first = firstError.get();
        if (first != null) {
            OUT.println("first-error " + first.replace('\n', ' '));
        }
        p.shutdown();
        return 0;
    }

    void work(DefaultMQProducer p, String topic, byte[] body, Window win, long windowStart, long end) {
        Semaphore window = new Semaphore(inflight);
        while (true) {
            long start = System.nanoTime();
            if (start >= end) {
                break;
            }
            boolean counted = start >= windowStart;
            try {
                if (inflight == 1) {
                    SendResult r = batch == 1 ? p.send(new Message(topic, "TagA", body)) : p.send(messages(topic, body));
                    done(r, start, counted, win);
                } else {
                    window.acquire();
                    SendCallback cb = new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                            window.release();
                            done(r, start, counted, win);
                        }

                        @Override
                        public void onException(Throwable e) {
                            window.release();
                            error(e.toString());
                        }
                    };
                    if (batch == 1) {
                        p.send(new Message(topic, "TagA", body), cb);
                    } else {
                        p.send(messages(topic, body), cb);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                error(e.toString());
            }
        }
        // The window's last sends: wait for their callbacks.
        try {
            window.acquire(inflight);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void done(SendResult r, long start, boolean counted, Window win) {
        long endNs = System.nanoTime();
        if (r.getSendStatus() != SendStatus.SEND_OK) {
            error("send status " + r.getSendStatus());
            return;
        }
        sentTotal.addAndGet(batch);
        if (counted) {
            win.record(start, endNs, batch);
        }
    }
}
