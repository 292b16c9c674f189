package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"
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

// table prints rows under an upper-case header, each column as wide as its
// widest cell in terminal columns (go-runewidth: a kanji or kana cell is two
// columns a character, so Japanese names no longer push the next columns
// out of line, as text/tabwriter's one-column-per-rune count did).
func table(w io.Writer, header []string, rows [][]string) error {
	all := append([][]string{header}, rows...)
	var widths []int
	for _, r := range all {
		for i, c := range r {
			if c == "" {
				r[i], c = "-", "-"
			}
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		b.Reset()
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(pad(c, widths[i]))
			b.WriteString("  ")
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}

// pad fills s with spaces to width terminal columns (display width, not
// bytes or runes); the one way partnerctl aligns text.
func pad(s string, width int) string { return runewidth.FillRight(s, width) }

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
