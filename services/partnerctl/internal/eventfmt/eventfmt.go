// Package eventfmt reads CloudEvents off JetStream for people: it tails the
// catalog's streams with ephemeral ordered consumers, filters by partner and
// type, and renders one line per event (or the event as structured-mode
// JSON). partnerctl's `events tail` uses it; the demo can too.
package eventfmt

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
)

// Streams are the streams a tail reads by default: every producer's, then
// the dead letters.
var Streams = []string{"INTAKE", "REGISTRATION", "EMAIL", "NOTIFIER", "VERIFICATION", "AGREEMENTS", "RELATIONSHIPS", "TIMELINE", bus.DeadLetterStream}

// DeadLetter is why a dead-lettered event was parked (its dlq-* headers).
type DeadLetter struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Service string `json:"service,omitempty"`
	Handler string `json:"handler,omitempty"`
	Subject string `json:"subject,omitempty"` // where it was consumed from
}

// Item is one event as read from a stream.
type Item struct {
	Stream     string
	StreamSeq  uint64
	Event      ce.Event
	DeadLetter *DeadLetter // set on the DEADLETTER stream
}

// FromMsg decodes a JetStream message into an Item.
func FromMsg(stream string, streamSeq uint64, h nats.Header, data []byte) (Item, error) {
	flat := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			flat[strings.ToLower(k)] = v[0]
		}
	}
	ev, err := ce.Decode(flat, data)
	if err != nil {
		return Item{}, err
	}
	it := Item{Stream: stream, StreamSeq: streamSeq, Event: ev}
	if code := flat[bus.DLQCode]; code != "" || stream == bus.DeadLetterStream {
		it.DeadLetter = &DeadLetter{Code: code, Reason: flat[bus.DLQReason], Service: flat[bus.DLQService],
			Handler: flat[bus.DLQHandler], Subject: flat[bus.DLQSubject]}
	}
	return it, nil
}

// Filter selects events. Zero fields select everything.
type Filter struct {
	// Partner matches the CloudEvent subject, or any top-level string in the
	// data (relationship events name the provider in provider_id).
	Partner string
	// TypePrefix matches the type with or without "com.partnerhub.",
	// e.g. "registration.partner" or "verification.".
	TypePrefix string
}

func (f Filter) topicPrefix() string { return ce.Topic(strings.TrimSpace(f.TypePrefix)) }

// Match reports whether it passes the filter.
func (f Filter) Match(it Item) bool {
	if p := f.topicPrefix(); p != "" && !strings.HasPrefix(ce.Topic(it.Event.Type), p) {
		return false
	}
	if f.Partner == "" || it.Event.Subject == f.Partner {
		return true
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(it.Event.Data, &top) != nil {
		return false
	}
	for _, raw := range top {
		var s string
		if json.Unmarshal(raw, &s) == nil && s == f.Partner {
			return true
		}
	}
	return false
}

// SubjectFilter translates the type prefix into a NATS subject filter for
// stream, so the server sends only what may match; ok is false when stream
// cannot hold such events. An empty subject means the whole stream. The
// filter is never narrower than the prefix: Match still decides.
func (f Filter) SubjectFilter(stream string) (subject string, ok bool) {
	p := f.topicPrefix()
	if p == "" || stream == bus.DeadLetterStream {
		return "", true // dead letters keep their type only in headers
	}
	tokens := strings.Split(p, ".")
	if len(tokens) == 1 { // a first token, perhaps partial ("regis")
		return "", prefixOfStream(tokens[0], stream)
	}
	if s, err := bus.StreamFor(tokens[0] + ".x"); err != nil || s.Name != stream {
		return "", false
	}
	last := tokens[len(tokens)-1]
	if isVersion(last) {
		// A whole type: its own subject, in every partition (intake
		// events are on the bare topic, the services' on <topic>.<p>).
		if bus.OwnerSource(p) != "" {
			return bus.AllPartitions(p), true
		}
		return p, true
	}
	// Every token but the last is complete; the last may be partial
	// ("registration.part") or empty ("registration.").
	complete := tokens[:len(tokens)-1]
	if len(complete) == 1 {
		return "", true // the stream holds only this first token
	}
	return strings.Join(complete, ".") + ".>", true
}

// prefixOfStream reports whether a partial first token (e.g. "regis") may
// name stream's subjects.
func prefixOfStream(first, stream string) bool {
	for _, s := range bus.Catalog {
		if s.Name != stream {
			continue
		}
		for _, sub := range s.Subjects {
			if strings.HasPrefix(strings.TrimSuffix(sub, ".>"), first) {
				return true
			}
		}
	}
	return false
}

func isVersion(tok string) bool {
	if len(tok) < 2 || tok[0] != 'v' {
		return false
	}
	_, err := strconv.Atoi(tok[1:])
	return err == nil
}

// Service is the producing service named by a source such as
// "/services/registration"; other sources are returned as they are.
func Service(source string) string {
	if s, ok := strings.CutPrefix(source, "/services/"); ok {
		return s
	}
	return source
}

// Line renders it as one line: time, source, type, subject, sequence and a
// summary of the data. Dead letters start with "!!" and their code.
func Line(it Item) string {
	ev := it.Event
	mark := "  "
	if it.DeadLetter != nil {
		mark = "!!"
	}
	seq := "-"
	if ev.Sequence > 0 {
		seq = strconv.FormatUint(ev.Sequence, 10)
	}
	ts := "-"
	if !ev.Time.IsZero() {
		ts = ev.Time.UTC().Format("2006-01-02T15:04:05Z")
	}
	subject := ev.Subject
	if subject == "" {
		subject = "-"
	}
	line := strings.Join([]string{mark, ts, runewidth.FillRight(Service(ev.Source), 15), runewidth.FillRight(ce.Topic(ev.Type), 48),
		runewidth.FillRight(subject, 16), "seq", runewidth.FillRight(seq, 4)}, " ")
	if it.DeadLetter != nil {
		line += " dlq-code=" + it.DeadLetter.Code
		if it.DeadLetter.Service != "" {
			line += " dlq-service=" + it.DeadLetter.Service
		}
	}
	if s := Summary(ev.Data); s != "" {
		line += " " + s
	}
	return strings.TrimRight(line, " ")
}

// summaryKeys are the data fields worth a glance, in the order shown.
var summaryKeys = []string{
	"status", "from", "to", "state", "program", "check", "outcome", "mode", "reason", "code",
	"task_id", "decision_id", "version_id", "relationship_id", "provider_id", "grant_id", "roles",
	"duration_days", "expires_at", "due_at", "ended_by", "channel", "market",
	"location_id", "enrollment_id", "case_id", // long ids last: the subject already names the partner
}

// maxSummary bounds the summary so a line stays a line.
const maxSummary = 160

// Summary renders the interesting top-level fields of JSON data as
// key=value pairs; scalars and lists of scalars only, nothing secret (sealed
// fields are never in this list).
func Summary(data []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return ""
	}
	var parts []string
	for _, k := range summaryKeys {
		raw, ok := top[k]
		if !ok {
			continue
		}
		if v := scalar(raw); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	s := strings.Join(parts, " ")
	if r := []rune(s); len(r) > maxSummary {
		s = string(r[:maxSummary-1]) + "…"
	}
	return s
}

func scalar(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, " \t") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		var items []string
		for _, e := range x {
			switch y := e.(type) {
			case string:
				items = append(items, y)
			case float64:
				items = append(items, strconv.FormatFloat(y, 'f', -1, 64))
			default:
				return ""
			}
		}
		return strings.Join(items, ",")
	}
	return ""
}

// JSON renders it as a structured-mode CloudEvent (one object, no newline).
// Dead letters carry their reason as the extensions dlqcode, dlqreason,
// dlqservice, dlqhandler, dlqsubject, and dlqseq (the DEADLETTER sequence).
func JSON(it Item) ([]byte, error) {
	m := map[string]any{}
	for k, v := range it.Event.Headers() {
		if name, ok := strings.CutPrefix(k, ce.HeaderPrefix); ok {
			m[name] = v
		}
	}
	if dl := it.DeadLetter; dl != nil {
		seq := ""
		if it.StreamSeq > 0 {
			seq = strconv.FormatUint(it.StreamSeq, 10) // what 'deadletters replay' takes
		}
		for k, v := range map[string]string{"dlqcode": dl.Code, "dlqreason": dl.Reason, "dlqservice": dl.Service,
			"dlqhandler": dl.Handler, "dlqsubject": dl.Subject, "dlqseq": seq} {
			if v != "" {
				m[k] = v
			}
		}
	}
	if len(it.Event.Data) > 0 {
		if json.Valid(it.Event.Data) {
			m["data"] = json.RawMessage(it.Event.Data)
		} else {
			m["data_base64"] = it.Event.Data
		}
	}
	return json.Marshal(m)
}

// Start says where a tail begins.
type Start struct {
	All   bool      // from the first stored event
	Since time.Time // from this time (zero: only new events)
}

// TailOptions configure Tail.
type TailOptions struct {
	Streams []string // default Streams
	Filter  Filter
	Start   Start
	// Strict fails on a missing stream; otherwise it is skipped and named in
	// the result (a partial deployment still tails).
	Strict bool
}

// Tail reads the streams with one ephemeral ordered consumer each (deleted
// when read, or at stop: nothing is left on the server) and calls fn for every matching event,
// never concurrently. With a start in the past (All or Since), the stored
// events of every stream are read first and handed to fn in time order
// across streams (ties by stream, then sequence) — not grouped by stream —
// and the live tail then goes on from where each stream ended. Messages that
// are not CloudEvents go to bad, if set. stop ends the consumers; skipped
// names missing streams.
func Tail(ctx context.Context, js jetstream.JetStream, o TailOptions, fn func(Item), bad func(stream string, seq uint64, err error)) (stop func(), skipped []string, err error) {
	names := o.Streams
	if len(names) == 0 {
		names = Streams
	}
	var streams []string
	for _, name := range names {
		if _, ok := o.Filter.SubjectFilter(name); ok {
			streams = append(streams, name)
		}
	}
	history := !o.Start.All && o.Start.Since.IsZero()
	var stored []Item
	next := map[string]uint64{} // per stream, the first sequence the live tail reads
	if !history {
		for _, name := range streams {
			items, last, err := readStored(ctx, js, name, o, bad)
			if errors.Is(err, jetstream.ErrStreamNotFound) && !o.Strict {
				skipped = append(skipped, name)
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("stream %s: %w", name, err)
			}
			stored = append(stored, items...)
			next[name] = last + 1
		}
		order := func(stream string) int { return slices.Index(Streams, stream) }
		slices.SortStableFunc(stored, func(a, b Item) int {
			return cmp.Or(a.Event.Time.Compare(b.Event.Time), cmp.Compare(order(a.Stream), order(b.Stream)), cmp.Compare(a.StreamSeq, b.StreamSeq))
		})
		for _, it := range stored {
			fn(it)
		}
	}
	var mu sync.Mutex
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, name := range streams {
		if slices.Contains(skipped, name) {
			continue
		}
		c, err := liveConsumer(ctx, js, name, o, history, next[name])
		if errors.Is(err, jetstream.ErrStreamNotFound) && !o.Strict {
			skipped = append(skipped, name)
			continue
		}
		if err != nil {
			stopAll()
			return nil, nil, fmt.Errorf("stream %s: %w", name, err)
		}
		stream := name
		cc, err := c.Consume(func(m jetstream.Msg) {
			var seq uint64
			if md, err := m.Metadata(); err == nil {
				seq = md.Sequence.Stream
			}
			it, err := FromMsg(stream, seq, m.Headers(), m.Data())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if bad != nil {
					bad(stream, seq, err)
				}
				return
			}
			if o.Filter.Match(it) {
				fn(it)
			}
		})
		if err != nil {
			stopAll()
			return nil, nil, fmt.Errorf("stream %s: %w", name, err)
		}
		stops = append(stops, func() { cc.Stop(); dropConsumer(js, stream, c) })
	}
	sort.Strings(skipped)
	return stopAll, skipped, nil
}

// liveConsumer is the ordered consumer of the live tail of stream: from
// next after a read of the stored events (history unset), else from o's
// start. "New" is pinned to the stream's last sequence + 1: nats.go creates
// an ordered consumer again (after a server restart) from the message after
// the last it delivered, but with its original policy when it delivered
// none, and "new" then skips what was published while the server was away.
func liveConsumer(ctx context.Context, js jetstream.JetStream, stream string, o TailOptions, history bool, next uint64) (jetstream.Consumer, error) {
	cfg := consumerConfig(o, stream)
	switch {
	case !history:
		cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, next
	case cfg.DeliverPolicy == jetstream.DeliverNewPolicy:
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return nil, err
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, st.CachedInfo().State.LastSeq+1
	}
	return js.OrderedConsumer(ctx, stream, cfg)
}

// tailInactive is how long the server keeps a tail's consumer once nobody
// pulls from it (partnerctl killed, or cut off; a live tail pulls all the
// time, and nats.go creates it again after a longer cut). nats.go's default
// is 5 minutes: a script that ran 'partnerctl demo' or 'events tail' some
// sixty times within five minutes left a thousand consumers on each stream,
// the server's default limit, and every later run failed with "maximum
// consumers limit reached". Partnerctl also deletes them when it is done.
const tailInactive = 30 * time.Second

// dropConsumer deletes the server's consumer behind the ordered consumer c
// of stream, once the tail is done with it (best effort: a user without
// the right leaves it to tailInactive).
func dropConsumer(js jetstream.JetStream, stream string, c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = js.DeleteConsumer(ctx, stream, info.Name)
}

// consumerConfig is the ordered consumer of stream for o's start and filter.
func consumerConfig(o TailOptions, stream string) jetstream.OrderedConsumerConfig {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: tailInactive}
	switch {
	case o.Start.All:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case !o.Start.Since.IsZero():
		t := o.Start.Since
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &t
	}
	if subject, _ := o.Filter.SubjectFilter(stream); subject != "" {
		cfg.FilterSubjects = []string{subject}
	}
	return cfg
}

// readStored returns the matching events stored in stream from o's start up
// to its last sequence when called (last), so that the live tail can go on
// from last+1 without a gap or a repeat.
func readStored(ctx context.Context, js jetstream.JetStream, stream string, o TailOptions, bad func(string, uint64, error)) ([]Item, uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, 0, err
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil, last, nil
	}
	c, err := js.OrderedConsumer(ctx, stream, consumerConfig(o, stream))
	if err != nil {
		return nil, 0, err
	}
	defer dropConsumer(js, stream, c)
	var out []Item
	for {
		batch, err := c.FetchNoWait(256)
		if err != nil {
			return nil, 0, err
		}
		n, done := 0, false
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > last {
				done = true // published since: the live tail shows it
				continue
			}
			it, err := FromMsg(stream, seq, m.Headers(), m.Data())
			switch {
			case err != nil && bad != nil:
				bad(stream, seq, err)
			case err == nil && o.Filter.Match(it):
				out = append(out, it)
			}
			if seq >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, 0, err
		}
		if done || n == 0 {
			return out, last, nil
		}
	}
}
