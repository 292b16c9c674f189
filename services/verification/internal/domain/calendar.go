package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Holiday is one non-business day of a calendar.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD in the calendar's time zone
	Name string `json:"name"`
}

// Calendar is a business-day calendar: weekends and holidays are not
// business days, in the calendar's time zone.
type Calendar struct {
	Location *time.Location
	holidays map[string]string
}

// NewCalendar builds a calendar; it refuses malformed holiday dates.
func NewCalendar(loc *time.Location, holidays []Holiday) (Calendar, error) {
	if loc == nil {
		loc = time.UTC
	}
	c := Calendar{Location: loc, holidays: make(map[string]string, len(holidays))}
	for _, h := range holidays {
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			return Calendar{}, fmt.Errorf("holiday %q: %w", h.Date, err)
		}
		c.holidays[h.Date] = h.Name
	}
	return c, nil
}

// HolidayFile is the data format of a holiday calendar file.
type HolidayFile struct {
	Market   string    `json:"market"`
	TimeZone string    `json:"time_zone"`
	Holidays []Holiday `json:"holidays"`
}

// ParseHolidayFile reads a calendar from its JSON data.
func ParseHolidayFile(data []byte) (string, Calendar, error) {
	var f HolidayFile
	if err := json.Unmarshal(data, &f); err != nil {
		return "", Calendar{}, fmt.Errorf("parse holiday file: %w", err)
	}
	c, err := NewCalendar(MarketLocation(f.Market, f.TimeZone), f.Holidays)
	return strings.ToUpper(f.Market), c, err
}

//go:embed holidays_jp.json
var japanHolidays []byte

// JapanCalendar is the default calendar: Asia/Tokyo, weekends and the
// national holidays of 2026 and 2027.
func JapanCalendar() Calendar {
	_, c, err := ParseHolidayFile(japanHolidays)
	if err != nil {
		panic("embedded holidays_jp.json: " + err.Error()) // a build defect, caught by tests
	}
	return c
}

// MarketLocation is the time zone of a market; Asia/Tokyo for JP. Japan has
// no daylight saving time, so a fixed +09:00 zone stands in when the tz
// database is missing.
func MarketLocation(market, tz string) *time.Location {
	if tz == "" && strings.EqualFold(market, "JP") {
		tz = "Asia/Tokyo"
	}
	if tz == "" {
		return time.UTC
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	if tz == "Asia/Tokyo" {
		return time.FixedZone("JST", 9*3600)
	}
	return time.UTC
}

// IsBusinessDay reports whether t's date (in the calendar's zone) is a business day.
func (c Calendar) IsBusinessDay(t time.Time) bool {
	t = t.In(c.loc())
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.holidays[t.Format(time.DateOnly)]
	return !holiday
}

// HolidayName returns the holiday name of t's date, if any.
func (c Calendar) HolidayName(t time.Time) (string, bool) {
	n, ok := c.holidays[t.In(c.loc()).Format(time.DateOnly)]
	return n, ok
}

// AddBusinessDays returns the end (next midnight, local) of the n-th business
// day after the local date of from. A task created on Friday with n = 3 is
// due at the end of Wednesday; one created on Saturday, at the end of Wednesday too.
func (c Calendar) AddBusinessDays(from time.Time, n int) time.Time {
	loc := c.loc()
	l := from.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, loc) // noon avoids DST edges
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if c.IsBusinessDay(day) {
			counted++
		}
	}
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
}

// BusinessDaysLeft counts the business days a person still has at now
// before a deadline set by AddBusinessDays: those after now's local date,
// up to and including the deadline's last day (the day before its
// midnight). AddBusinessDays(from, n) leaves n.
func (c Calendar) BusinessDaysLeft(now, due time.Time) int {
	loc := c.loc()
	l, last := now.In(loc), due.In(loc).Add(-time.Nanosecond)
	day := time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, loc)
	end := time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, loc)
	n := 0
	for day = day.AddDate(0, 0, 1); !day.After(end); day = day.AddDate(0, 0, 1) {
		if c.IsBusinessDay(day) {
			n++
		}
	}
	return n
}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}
