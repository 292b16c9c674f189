package bus

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// NewPublisher publishes watermill messages to JetStream with Nats-Msg-Id =
// message UUID (= CloudEvent id) and metadata written verbatim as headers
// (so `ce-*` metadata is binary-mode CloudEvents). No ConfigureStream: with
// it the publisher would publish to the stream name instead of the subject.
func NewPublisher(nc *nats.Conn, log watermill.LoggerAdapter) (message.Publisher, error) {
	return wmjs.NewPublisher(wmjs.PublisherConfig{Conn: nc, Logger: log, TrackMessageID: true})
}

// WatermillLogger adapts slog for watermill at WARN and above: watermill
// logs every message at INFO. An error that is only the cancellation of a
// clean shutdown (the outbox subscriber's query interrupted) is not logged:
// an ERROR on every graceful stop would teach operators to ignore ERRORs.
func WatermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(slog.New(levelFloor{log.Handler(), slog.LevelWarn}), nil)
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, lvl slog.Level) bool {
	return lvl >= l.min && l.Handler.Enabled(ctx, lvl)
}
func (l levelFloor) Handle(ctx context.Context, r slog.Record) error {
	canceled := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "error" && errors.Is(err, context.Canceled) {
			canceled = true
			return false
		}
		return true
	})
	if canceled {
		return nil
	}
	return l.Handler.Handle(ctx, r)
}
func (l levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{l.Handler.WithAttrs(a), l.min}
}
func (l levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{l.Handler.WithGroup(n), l.min}
}
