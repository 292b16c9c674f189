package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

const (
	outputTable = "table"
	outputJSON  = "json"
)

func (g *globals) json() bool { return g.output == outputJSON }

// writeRaw writes an API's JSON as it came, ending in a newline.
func writeRaw(w io.Writer, body []byte) {
	body = bytes.TrimRight(body, "\n")
	_, _ = w.Write(body)
	_, _ = io.WriteString(w, "\n")
}

// writeJSON writes v indented (for objects partnerctl composes itself).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints rows under an upper-case header, aligned by tabwriter.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			if r[i] == "" {
				r[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// when renders a time for a table: UTC, to the second; "-" when zero.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// whenPtr is when for optional times.
func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}
