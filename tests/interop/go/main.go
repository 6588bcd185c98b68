// Command interop-go-driver is sluice's interop driver for the Apache RocketMQ Go client
// (github.com/apache/rocketmq-client-go/v2, the remoting client, language GO).
//
// Usage: interop-go-driver SCENARIO --namesrv HOST:PORT [options]
//
// One JSON line per sent or received message on stdout, like the other drivers of
// tests/interop; the client's log goes to stderr. Exit 0: goal met; 1: not met; 2: bad arguments
// or nothing listening on the NameServer address; 3: the watchdog fired at --timeout + 20 s.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const usage = `usage: interop-go-driver SCENARIO --namesrv HOST:PORT [options]

scenarios:
  produce              SendSync, one message at a time (--delay)
  produce-async        SendAsync, all in flight at once
  produce-batch        SendSync of --batch-size messages at once (a batch)
  produce-ordered      a queue selector: shard = i % --shards, queue = shard % #queues
  produce-transaction  TransactionProducer, plan --tx per message (commit, rollback,
                       unknown-commit, unknown-rollback, unknown); answers check-backs
  consume              push consumer, concurrent
  consume-orderly      push consumer, orderly (queue locks)
  pull                 pull consumer: Subscribe, Poll, ACK
`

type opts struct {
	scenario  string
	namesrv   string
	topic     string
	group     string
	prefix    string
	count     int64
	start     int64
	tags      []string
	shards    int64
	batchSize int
	delay     []string
	expr      string
	model     string
	from      string
	idle      float64
	timeout   float64
	graceMs   int64
	fail      bool
	maxRecons int
	stopAt    int
	tx        []string
	lingerMs  int64
	sql       string
	props     [][2]string
}

var outMu sync.Mutex

func emit(v map[string]interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-driver: json: %v\n", err)
		return
	}
	outMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

func nowMs() int64 { return time.Now().UnixMilli() }

func parse(args []string) (*opts, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, errors.New("a scenario is required")
	}
	o := &opts{scenario: args[0]}
	fs := flag.NewFlagSet(o.scenario, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var tags, delay, tx, props string
	fs.StringVar(&o.namesrv, "namesrv", "", "NameServer address")
	fs.StringVar(&o.topic, "topic", "InteropTopic", "topic")
	fs.StringVar(&o.group, "group", "", "group")
	fs.StringVar(&o.prefix, "prefix", "msg", "body prefix")
	fs.Int64Var(&o.count, "count", 10, "messages")
	fs.Int64Var(&o.start, "start", 0, "first index")
	fs.StringVar(&tags, "tags", "TagA", "tags, message i gets tags[i % len]")
	fs.Int64Var(&o.shards, "shards", 4, "order shards")
	fs.IntVar(&o.batchSize, "batch-size", 10, "batch size")
	fs.StringVar(&delay, "delay", "", "none, level:N, deliver:+MS, delay-sec:S, delay-ms:MS, start:+MS")
	fs.StringVar(&o.expr, "expr", "*", "tag expression")
	fs.StringVar(&o.model, "model", "clustering", "clustering|broadcasting")
	fs.StringVar(&o.from, "from", "first", "first|last")
	fs.Float64Var(&o.idle, "idle", 0, "stop after S seconds without a new message (0: off)")
	fs.Float64Var(&o.timeout, "timeout", 60, "seconds")
	fs.Int64Var(&o.graceMs, "grace-ms", 1000, "before shutdown")
	fs.BoolVar(&o.fail, "fail", false, "the listener fails every delivery")
	fs.IntVar(&o.maxRecons, "max-reconsume", -1, "maxReconsumeTimes")
	fs.IntVar(&o.stopAt, "stop-at-reconsume", 0, "--count counts bodies seen with reconsumeTimes >= K")
	fs.StringVar(&tx, "tx", "commit,rollback", "transaction plan")
	fs.Int64Var(&o.lingerMs, "linger-ms", 0, "transactions: stay up after the check-backs")
	fs.StringVar(&o.sql, "sql", "", "consumers: a SQL92 subscription instead of --expr")
	fs.StringVar(&props, "props", "", "producers: user properties k=v,k2=v2 on every message")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.namesrv == "" {
		return nil, errors.New("--namesrv is required")
	}
	o.tags = strings.Split(tags, ",")
	for _, kv := range strings.Split(props, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			o.props = append(o.props, [2]string{k, v})
		} else if kv != "" {
			return nil, fmt.Errorf("--props: %q is not k=v", kv)
		}
	}
	o.tx = strings.Split(tx, ",")
	if delay != "" {
		o.delay = strings.Split(delay, ",")
	}
	if o.shards <= 0 || o.batchSize <= 0 {
		return nil, errors.New("--shards and --batch-size must be > 0")
	}
	if o.model != "clustering" && o.model != "broadcasting" {
		return nil, errors.New("--model: clustering or broadcasting")
	}
	if o.group == "" {
		o.group = "interop_go_" + strings.ReplaceAll(o.scenario, "-", "_")
	}
	return o, nil
}

func (o *opts) body(i int64) string { return fmt.Sprintf("%s-%d", o.prefix, i) }

func (o *opts) build(i int64, extra map[string]interface{}) (*primitive.Message, error) {
	m := primitive.NewMessage(o.topic, []byte(o.body(i)))
	m.WithTag(o.tags[i%int64(len(o.tags))])
	m.WithKeys([]string{fmt.Sprintf("%s-k%d", o.prefix, i)})
	for _, kv := range o.props {
		m.WithProperty(kv[0], kv[1])
	}
	if len(o.delay) > 0 {
		spec := o.delay[i%int64(len(o.delay))]
		t := nowMs()
		extra["sendTs"] = t
		extra["delay"] = spec
		kind, val, _ := strings.Cut(spec, ":")
		var n int64
		if val != "" {
			v, err := strconv.ParseInt(strings.TrimPrefix(val, "+"), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--delay: bad number in %s", spec)
			}
			n = v
		}
		switch kind {
		case "none":
			delete(extra, "delay")
		case "level":
			m.WithDelayTimeLevel(int(n))
			extra["delayLevel"] = n
		case "deliver":
			m.WithProperty("TIMER_DELIVER_MS", strconv.FormatInt(t+n, 10))
			extra["deliverAt"] = t + n
		case "delay-sec":
			m.WithProperty("TIMER_DELAY_SEC", strconv.FormatInt(n, 10))
			extra["delayMs"] = n * 1000
		case "delay-ms":
			m.WithProperty("TIMER_DELAY_MS", strconv.FormatInt(n, 10))
			extra["delayMs"] = n
		case "start":
			m.WithProperty("__STARTDELIVERTIME", strconv.FormatInt(t+n, 10))
			extra["deliverAt"] = t + n
		default:
			return nil, fmt.Errorf("--delay: unknown kind %s", kind)
		}
	}
	return m, nil
}

func (o *opts) sentLine(i int64, m *primitive.Message, r *primitive.SendResult, extra map[string]interface{}) map[string]interface{} {
	v := map[string]interface{}{
		"event": "sent", "client": "go", "index": i, "body": o.body(i), "topic": o.topic,
		"tags": m.GetTags(), "keys": m.GetKeys(),
	}
	if r != nil {
		v["id"] = r.MsgID
		v["offsetMsgId"] = r.OffsetMsgID
		if r.MessageQueue != nil {
			v["queueId"] = r.MessageQueue.QueueId
		}
		v["queueOffset"] = r.QueueOffset
		v["status"] = r.Status
	}
	for k, x := range extra {
		v[k] = x
	}
	v["ts"] = nowMs()
	return v
}

func msgLine(event string, m *primitive.MessageExt) map[string]interface{} {
	v := map[string]interface{}{
		"event": event, "client": "go", "body": string(m.Body), "id": m.MsgId,
		"offsetMsgId": m.OffsetMsgId, "uniqKey": m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex),
		"topic": m.Topic, "tags": m.GetTags(), "keys": m.GetKeys(), "queueOffset": m.QueueOffset,
		"reconsumeTimes": m.ReconsumeTimes, "bornTimestamp": m.BornTimestamp,
		"storeTimestamp": m.StoreTimestamp, "sysFlag": m.SysFlag,
		"retryTopic": m.GetProperty(primitive.PropertyRetryTopic), "properties": m.GetProperties(),
		"ts": nowMs(),
	}
	if m.Queue != nil {
		v["queueId"] = m.Queue.QueueId
	}
	return v
}

// ---- producers ----

// shardSelector sends shard s (the message's sharding key) to queue s % #queues.
type shardSelector struct{}

func (shardSelector) Select(m *primitive.Message, mqs []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	s, err := strconv.Atoi(m.GetShardingKey())
	if err != nil || s < 0 {
		s = 0
	}
	return mqs[s%len(mqs)]
}

func produce(o *opts) (bool, error) {
	popts := []producer.Option{
		producer.WithNameServer([]string{o.namesrv}),
		producer.WithGroupName(o.group),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10 * time.Second),
	}
	if o.scenario == "produce-ordered" {
		popts = append(popts, producer.WithQueueSelector(shardSelector{}))
	}
	p, err := rocketmq.NewProducer(popts...)
	if err != nil {
		return false, fmt.Errorf("producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return false, fmt.Errorf("producer start: %w", err)
	}
	defer func() { _ = p.Shutdown() }()
	ctx := context.Background()
	var ok, failed int64
	end := o.start + o.count
	fail := func(i int64, err error) {
		failed++
		emit(map[string]interface{}{"event": "send_failed", "client": "go", "index": i, "body": o.body(i), "error": err.Error()})
	}
	switch o.scenario {
	case "produce", "produce-ordered":
		for i := o.start; i < end; i++ {
			extra := map[string]interface{}{}
			m, err := o.build(i, extra)
			if err != nil {
				return false, err
			}
			if o.scenario == "produce-ordered" {
				shard := i % o.shards
				m.WithShardingKey(strconv.FormatInt(shard, 10))
				extra["shard"] = shard
			}
			r, err := p.SendSync(ctx, m)
			if err == nil && r.Status != primitive.SendOK {
				err = fmt.Errorf("send status %d", r.Status)
			}
			if err != nil {
				fail(i, err)
				break
			}
			ok++
			emit(o.sentLine(i, m, r, extra))
		}
	case "produce-async":
		var wg sync.WaitGroup
		var okA, failA int64
		for i := o.start; i < end; i++ {
			extra := map[string]interface{}{"mode": "async"}
			m, err := o.build(i, extra)
			if err != nil {
				return false, err
			}
			idx := i
			wg.Add(1)
			err = p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
				defer wg.Done()
				if err != nil {
					atomic.AddInt64(&failA, 1)
					emit(map[string]interface{}{"event": "send_failed", "client": "go", "index": idx, "body": o.body(idx), "error": err.Error()})
					return
				}
				atomic.AddInt64(&okA, 1)
				emit(o.sentLine(idx, m, r, extra))
			}, m)
			if err != nil {
				wg.Done()
				atomic.AddInt64(&failA, 1)
				emit(map[string]interface{}{"event": "send_failed", "client": "go", "index": idx, "body": o.body(idx), "error": err.Error()})
			}
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Duration(o.timeout * float64(time.Second))):
		}
		ok, failed = atomic.LoadInt64(&okA), o.count-atomic.LoadInt64(&okA)
	case "produce-batch":
		for i := o.start; i < end; i += int64(o.batchSize) {
			var batch []*primitive.Message
			var extras []map[string]interface{}
			for k := i; k < end && k < i+int64(o.batchSize); k++ {
				extra := map[string]interface{}{"mode": "batch"}
				m, err := o.build(k, extra)
				if err != nil {
					return false, err
				}
				batch = append(batch, m)
				extras = append(extras, extra)
			}
			r, err := p.SendSync(ctx, batch...)
			if err == nil && r.Status != primitive.SendOK {
				err = fmt.Errorf("send status %d", r.Status)
			}
			if err != nil {
				fail(i, err)
				break
			}
			ids := strings.Split(r.MsgID, ",")
			offIds := strings.Split(r.OffsetMsgID, ",")
			for k, m := range batch {
				v := o.sentLine(i+int64(k), m, r, extras[k])
				v["id"], v["offsetMsgId"] = nil, nil
				if k < len(ids) {
					v["id"] = ids[k]
				}
				if k < len(offIds) {
					v["offsetMsgId"] = offIds[k]
				}
				v["queueOffset"] = r.QueueOffset + int64(k)
				emit(v)
				ok++
			}
		}
	default:
		return false, fmt.Errorf("unknown scenario %s", o.scenario)
	}
	emit(map[string]interface{}{"event": "done", "client": "go", "scenario": o.scenario, "sent": ok, "failed": failed})
	return failed == 0 && ok == o.count, nil
}

// ---- transactions ----

// unknownState is LocalTransactionState 3 (UNKNOW): v2.1.2 names it UnknowState, later
// revisions UnkonwnState; the value keeps the driver building with both.
const unknownState primitive.LocalTransactionState = 3

type txListener struct {
	o       *opts
	mu      sync.Mutex
	checks  map[string]int
	decided map[string]bool
}

func (l *txListener) plan(body string) string {
	i, err := strconv.ParseInt(body[strings.LastIndex(body, "-")+1:], 10, 64)
	if err != nil || i < 0 {
		return "rollback"
	}
	return l.o.tx[i%int64(len(l.o.tx))]
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	switch l.plan(string(m.Body)) {
	case "commit":
		return primitive.CommitMessageState
	case "rollback":
		return primitive.RollbackMessageState
	default:
		return unknownState
	}
}

func stateName(s primitive.LocalTransactionState) string {
	switch s {
	case primitive.CommitMessageState:
		return "commit"
	case primitive.RollbackMessageState:
		return "rollback"
	default:
		return "unknown"
	}
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	body := string(m.Body)
	st := unknownState
	switch l.plan(body) {
	case "commit", "unknown-commit":
		st = primitive.CommitMessageState
	case "rollback", "unknown-rollback":
		st = primitive.RollbackMessageState
	}
	l.mu.Lock()
	l.checks[body]++
	n := l.checks[body]
	if st != unknownState {
		l.decided[body] = true
	}
	l.mu.Unlock()
	emit(map[string]interface{}{
		"event": "check", "client": "go", "body": body,
		"id":            m.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex),
		"transactionId": m.TransactionId, "topic": m.Topic, "answer": stateName(st), "n": n, "ts": nowMs(),
	})
	return st
}

func produceTransaction(o *opts) (bool, error) {
	l := &txListener{o: o, checks: map[string]int{}, decided: map[string]bool{}}
	p, err := rocketmq.NewTransactionProducer(l,
		producer.WithNameServer([]string{o.namesrv}),
		producer.WithGroupName(o.group),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		return false, fmt.Errorf("transaction producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return false, fmt.Errorf("transaction producer start: %w", err)
	}
	emit(map[string]interface{}{"event": "started", "client": "go", "group": o.group, "topic": o.topic})
	deadline := time.Now().Add(time.Duration(o.timeout * float64(time.Second)))
	var ok, failed, awaiting int
	for i := o.start; i < o.start+o.count; i++ {
		plan := o.tx[i%int64(len(o.tx))]
		extra := map[string]interface{}{"sendTs": nowMs()}
		m, err := o.build(i, extra)
		if err != nil {
			return false, err
		}
		r, err := p.SendMessageInTransaction(context.Background(), m)
		if err != nil {
			failed++
			emit(map[string]interface{}{"event": "send_failed", "client": "go", "index": i, "body": o.body(i), "error": err.Error()})
			break
		}
		ok++
		if strings.HasPrefix(plan, "unknown-") {
			awaiting++
		}
		extra["transaction"] = stateName(r.State)
		extra["tx"] = plan
		extra["commit"] = plan == "commit" || plan == "unknown-commit"
		emit(o.sentLine(i, m, r.SendResult, extra))
	}
	decided := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.decided)
	}
	for decided() < awaiting && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	met := decided() >= awaiting
	time.Sleep(time.Duration(o.lingerMs) * time.Millisecond)
	l.mu.Lock()
	total := 0
	for _, n := range l.checks {
		total += n
	}
	l.mu.Unlock()
	_ = p.Shutdown()
	emit(map[string]interface{}{"event": "done", "client": "go", "scenario": o.scenario, "sent": ok, "failed": failed,
		"checks": total, "decidedByCheck": decided(), "awaitedChecks": awaiting})
	return failed == 0 && met, nil
}

// ---- consumers ----

type tally struct {
	minRecons int32
	mu        sync.Mutex
	seen      map[string]bool
	total     int64
	lastNew   int64
}

func (t *tally) record(m *primitive.MessageExt) {
	emit(msgLine("recv", m))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	b := string(m.Body)
	if m.ReconsumeTimes >= t.minRecons && !t.seen[b] {
		t.seen[b] = true
		t.lastNew = nowMs()
	}
}

func (t *tally) wait(o *opts, t0 time.Time) string {
	deadline := t0.Add(time.Duration(o.timeout * float64(time.Second)))
	for time.Now().Before(deadline) {
		t.mu.Lock()
		n, last := int64(len(t.seen)), t.lastNew
		t.mu.Unlock()
		if n >= o.count {
			return "count"
		}
		if o.idle > 0 && last > 0 && float64(nowMs()-last) >= o.idle*1000 {
			return "idle"
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "timeout"
}

func (o *opts) consumerOpts() []consumer.Option {
	model := consumer.Clustering
	if o.model == "broadcasting" {
		model = consumer.BroadCasting
	}
	from := consumer.ConsumeFromFirstOffset
	if o.from == "last" {
		from = consumer.ConsumeFromLastOffset
	}
	co := []consumer.Option{
		consumer.WithNameServer([]string{o.namesrv}),
		consumer.WithGroupName(o.group),
		consumer.WithConsumerModel(model),
		consumer.WithConsumeFromWhere(from),
	}
	if o.maxRecons >= 0 {
		co = append(co, consumer.WithMaxReconsumeTimes(int32(o.maxRecons)))
	}
	return co
}

// selector is --sql as a SQL92 selector, else --expr as a tag expression.
func (o *opts) selector() consumer.MessageSelector {
	if o.sql != "" {
		return consumer.MessageSelector{Type: consumer.SQL92, Expression: o.sql}
	}
	return consumer.MessageSelector{Type: consumer.TAG, Expression: o.expr}
}

func consume(o *opts) (bool, error) {
	co := o.consumerOpts()
	if o.scenario == "consume-orderly" {
		co = append(co, consumer.WithConsumerOrder(true))
	}
	c, err := rocketmq.NewPushConsumer(co...)
	if err != nil {
		return false, fmt.Errorf("push consumer: %w", err)
	}
	t := &tally{seen: map[string]bool{}, minRecons: int32(o.stopAt)}
	err = c.Subscribe(o.topic, o.selector(),
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				t.record(m)
			}
			if o.fail {
				return consumer.ConsumeRetryLater, nil
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return false, fmt.Errorf("consumer start: %w", err)
	}
	emit(map[string]interface{}{"event": "started", "client": "go", "group": o.group, "topic": o.topic, "expr": o.expr, "model": o.model})
	reason := t.wait(o, t0)
	time.Sleep(time.Duration(o.graceMs) * time.Millisecond)
	_ = c.Shutdown()
	emit(map[string]interface{}{"event": "done", "client": "go", "scenario": o.scenario, "received": t.total, "distinct": len(t.seen), "reason": reason})
	return reason == "count" || (o.idle > 0 && reason == "idle"), nil
}

func pull(o *opts) (bool, error) {
	c, err := rocketmq.NewPullConsumer(o.consumerOpts()...)
	if err != nil {
		return false, fmt.Errorf("pull consumer: %w", err)
	}
	if err := c.Subscribe(o.topic, o.selector()); err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return false, fmt.Errorf("pull consumer start: %w", err)
	}
	emit(map[string]interface{}{"event": "started", "client": "go", "group": o.group, "topic": o.topic, "mode": "poll"})
	t := &tally{seen: map[string]bool{}}
	stop := make(chan string, 1)
	go func() { stop <- t.wait(o, t0) }()
	reason := ""
	for reason == "" {
		select {
		case reason = <-stop:
			continue
		default:
		}
		cr, err := c.Poll(context.Background(), 500*time.Millisecond)
		if err != nil {
			if !errors.Is(err, consumer.ErrNoNewMsg) {
				fmt.Fprintf(os.Stderr, "go-driver: poll: %v\n", err)
			}
			continue
		}
		for _, m := range cr.GetMsgList() {
			t.record(m)
		}
		c.ACK(context.Background(), cr, consumer.ConsumeSuccess)
	}
	time.Sleep(time.Duration(o.graceMs) * time.Millisecond)
	_ = c.Shutdown()
	emit(map[string]interface{}{"event": "done", "client": "go", "scenario": o.scenario, "received": t.total, "distinct": len(t.seen), "reason": reason})
	return reason == "count" || (o.idle > 0 && reason == "idle"), nil
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		fmt.Print(usage)
		return
	}
	o, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-driver: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	level := os.Getenv("INTEROP_LOG")
	if level == "" {
		level = "warn"
	}
	rlog.SetLogLevel(level)
	if conn, err := net.DialTimeout("tcp", o.namesrv, 3*time.Second); err != nil {
		emit(map[string]interface{}{"event": "error", "client": "go", "error": err.Error()})
		os.Exit(2)
	} else {
		_ = conn.Close()
	}
	hard := time.Duration((o.timeout + 20) * float64(time.Second))
	go func() {
		time.Sleep(hard)
		fmt.Fprintf(os.Stderr, "go-driver: watchdog: still running after %v, exiting\n", hard)
		os.Exit(3)
	}()
	var ok bool
	switch o.scenario {
	case "produce", "produce-async", "produce-batch", "produce-ordered":
		ok, err = produce(o)
	case "produce-transaction":
		ok, err = produceTransaction(o)
	case "consume", "consume-orderly":
		ok, err = consume(o)
	case "pull":
		ok, err = pull(o)
	default:
		fmt.Fprintf(os.Stderr, "go-driver: unknown scenario %s\n\n%s", o.scenario, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-driver: %v\n", err)
		emit(map[string]interface{}{"event": "error", "client": "go", "error": err.Error()})
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}
