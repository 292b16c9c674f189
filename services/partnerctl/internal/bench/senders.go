package bench

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SenderStats are the notifier's sender counters (its GET /metrics): the
// time its senders spent on attempts, how many attempts, and how many
// senders it runs. Zero when the notifier does not expose them.
type SenderStats struct {
	SendSeconds float64 // sum of partnerhub_mail_send_seconds
	Sends       float64 // count of partnerhub_mail_send_seconds
	Senders     float64 // partnerhub_mail_senders
}

// ReadSenderStats reads the notifier's sender counters at base (its URL).
func ReadSenderStats(ctx context.Context, base string) (SenderStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return SenderStats{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return SenderStats{}, err
	}
	defer res.Body.Close()
	return parseSenderStats(res.Body), nil
}

// parseSenderStats sums the series of the Prometheus text exposition r.
func parseSenderStats(r io.Reader) SenderStats {
	var s SenderStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			if j := strings.LastIndexByte(line, '}'); j >= 0 {
				value = strings.TrimSpace(line[j+1:])
			}
		}
		v, err := strconv.ParseFloat(strings.Fields(value + " ")[0], 64)
		if err != nil {
			continue
		}
		switch name {
		case "partnerhub_mail_send_seconds_sum":
			s.SendSeconds += v
		case "partnerhub_mail_send_seconds_count":
			s.Sends += v
		case "partnerhub_mail_senders":
			s.Senders = v
		}
	}
	return s
}

// Sub is s minus an earlier reading (the senders as in s).
func (s SenderStats) Sub(b SenderStats) SenderStats {
	return SenderStats{SendSeconds: s.SendSeconds - b.SendSeconds, Sends: s.Sends - b.Sends, Senders: s.Senders}
}
