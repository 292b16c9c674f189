package domain

import (
	"testing"
	"time"
)

func jst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, MarketLocation("JP", ""))
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddBusinessDaysJapan(t *testing.T) {
	cal := JapanCalendar()
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"plain week", "2026-06-01 10:00", 3, "2026-06-05 00:00"},              // Mon → end of Thu
		{"over weekend", "2026-06-05 23:30", 3, "2026-06-11 00:00"},            // Fri → end of Wed
		{"created on Saturday", "2026-06-06 09:00", 3, "2026-06-11 00:00"},     // Sat → end of Wed
		{"golden week", "2026-04-30 10:00", 3, "2026-05-09 00:00"},             // Thu; 5/1, then 5/3-6 holidays → 5/7, 5/8
		{"silver week", "2026-09-18 10:00", 1, "2026-09-25 00:00"},             // Fri; 9/21-23 holidays → Thu 9/24
		{"new year 2027", "2026-12-31 10:00", 1, "2027-01-05 00:00"},           // 1/1 holiday, weekend → Mon 1/4
		{"substitute holiday 2027", "2027-03-19 10:00", 1, "2027-03-24 00:00"}, // 3/22 振替休日 → Tue 3/23
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.AddBusinessDays(jst(tt.from), tt.n)
			if want := jst(tt.want); !got.Equal(want) {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
}

// TestBusinessDaysLeft: what an applicant is told. A deadline set n
// business days ahead leaves n; later, weekends and holidays do not count,
// and the deadline's own last day does.
func TestBusinessDaysLeft(t *testing.T) {
	cal := JapanCalendar()
	for _, tc := range []struct {
		from, now string
		n, want   int
	}{
		{"2026-06-01 10:00", "2026-06-01 10:00", 10, 10},
		{"2026-04-30 10:00", "2026-04-30 10:00", 3, 3}, // golden week in between
		{"2026-06-05 23:30", "2026-06-08 09:00", 3, 2}, // Fri; on Monday Tue and Wed are left
		{"2026-06-01 10:00", "2026-06-04 23:59", 3, 0}, // the last day
		{"2026-06-01 10:00", "2026-06-06 10:00", 3, 0}, // past the deadline
	} {
		due := cal.AddBusinessDays(jst(tc.from), tc.n)
		if got := cal.BusinessDaysLeft(jst(tc.now), due); got != tc.want {
			t.Errorf("deadline %s (+%d from %s), at %s: %d left, want %d", due, tc.n, tc.from, tc.now, got, tc.want)
		}
	}
}

func TestAddBusinessDaysUsesMarketTimeZone(t *testing.T) {
	// Friday 16:00 UTC is already Saturday 01:00 in Tokyo: the count starts from Saturday.
	from := time.Date(2026, 6, 5, 16, 0, 0, 0, time.UTC)
	got := JapanCalendar().AddBusinessDays(from, 1)
	if want := jst("2026-06-09 00:00"); !got.Equal(want) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestJapanHolidayData(t *testing.T) {
	cal := JapanCalendar()
	count := map[int]int{}
	for d := jst("2026-01-01 12:00"); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		name, ok := cal.HolidayName(d)
		if !ok {
			continue
		}
		count[d.Year()]++
		// A holiday on Sunday moves to the next non-holiday day (振替休日).
		if d.Weekday() == time.Sunday {
			next := d.AddDate(0, 0, 1)
			for {
				n, ok := cal.HolidayName(next)
				if !ok {
					t.Fatalf("%s (%s) is a Sunday without a substitute holiday", d.Format(time.DateOnly), name)
				}
				if n == "振替休日" {
					break
				}
				next = next.AddDate(0, 0, 1)
			}
		}
	}
	if count[2026] != 18 || count[2027] != 17 {
		t.Fatalf("holiday counts %v, want 18 for 2026 and 17 for 2027", count)
	}
	if cal.IsBusinessDay(jst("2026-05-06 12:00")) || !cal.IsBusinessDay(jst("2026-05-07 12:00")) {
		t.Fatal("2026-05-06 is a substitute holiday, 05-07 a business day")
	}
}

func TestParseHolidayFileRefusesBadDates(t *testing.T) {
	if _, _, err := ParseHolidayFile([]byte(`{"market":"JP","holidays":[{"date":"2026-13-01"}]}`)); err == nil {
		t.Fatal("want error for month 13")
	}
}
