package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// fakeStore records what the use cases ask of it.
type fakeStore struct {
	recorded    []domain.Event
	partners    [][]string
	events      []domain.Event
	sources     []domain.SourceSummary
	pageCalls   int
	gotAfter    *domain.Position
	gotPrefixes []string
	gotLimit    int
}

func (f *fakeStore) Record(_ context.Context, e domain.Event, partners []string, _ domain.Registrant, _ time.Time) (bool, []app.NewDelivery, error) {
	for _, r := range f.recorded {
		if r.Source == e.Source && r.ID == e.ID {
			return false, nil, nil
		}
	}
	f.recorded = append(f.recorded, e)
	f.partners = append(f.partners, partners)
	return true, nil, nil
}

func (f *fakeStore) RecordAll(ctx context.Context, recs []app.Recording, claimUntil time.Time) ([]app.Stored, error) {
	out := make([]app.Stored, len(recs))
	for i, r := range recs {
		fresh, ds, err := f.Record(ctx, r.Event, r.Partners, r.Registrant, claimUntil)
		if err != nil {
			return nil, err
		}
		out[i] = app.Stored{Fresh: fresh, Deliveries: ds}
	}
	return out, nil
}

func (f *fakeStore) RecordDeadLetter(_ context.Context, e domain.Event, partners []string, timeKnown bool) (int, error) {
	for i, r := range f.recorded {
		if r.Source == e.Source && r.ID == e.ID && r.DeadLetter.Key() == e.DeadLetter.Key() {
			last := r.Time
			if !r.DeadLetter.LastAt.IsZero() {
				last = r.DeadLetter.LastAt
			}
			if !timeKnown || !e.Time.After(last) {
				return 0, nil
			}
			dl := *r.DeadLetter
			dl.Times++
			dl.LastAt = e.Time
			f.recorded[i].DeadLetter = &dl
			return dl.Times, nil
		}
	}
	dl := *e.DeadLetter
	dl.Times = 1
	e.DeadLetter = &dl
	f.recorded = append(f.recorded, e)
	f.partners = append(f.partners, partners)
	return 1, nil
}

func (f *fakeStore) Page(_ context.Context, _ string, after *domain.Position, prefixes []string, limit int, _ bool) ([]domain.Event, error) {
	f.pageCalls++
	f.gotAfter, f.gotPrefixes, f.gotLimit = after, prefixes, limit
	if len(f.events) > limit {
		return f.events[:limit], nil
	}
	return f.events, nil
}

func (f *fakeStore) Sources(context.Context, string) ([]domain.SourceSummary, error) {
	return f.sources, nil
}

func (f *fakeStore) Feed(context.Context, app.FeedQuery) ([]domain.Event, error) { return nil, nil }

func (f *fakeStore) RegisteredBy(context.Context, string) (string, error) { return "", nil }

func (f *fakeStore) Prune(context.Context, time.Time, int) (int, error) { return 0, nil }

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestRecordEventDefaultsAndIndexes(t *testing.T) {
	store := &fakeStore{}
	a := &app.App{Store: store, Now: func() time.Time { return now }}
	cmd := app.RecordEvent{Event: domain.Event{ID: "e1", Source: "/services/relationships", Type: "com.partnerhub.relationships.x.v1",
		Subject: "PG-R100-0000-006", Data: json.RawMessage(`{"provider_id":"PG-P100-0000-008","sealed_code":"c2VjcmV0"}`)}, DataClassification: "restricted"}
	res, err := a.RecordEvent(context.Background(), cmd)
	if err != nil || !res.Fresh || !slices.Equal(res.Partners, []string{"PG-P100-0000-008", "PG-R100-0000-006"}) {
		t.Fatalf("RecordEvent = %+v, %v", res, err)
	}
	got := store.recorded[0]
	if !got.Time.Equal(now) || got.PartitionKey != "PG-R100-0000-006" {
		t.Errorf("time %v partition %q: an event without them is placed at arrival in its subject's partition", got.Time, got.PartitionKey)
	}
	var data map[string]string
	if err := json.Unmarshal(got.Data, &data); err != nil || data["sealed_code"] != "[redacted]" {
		t.Errorf("stored data %s", got.Data)
	}
	if res, _ := a.RecordEvent(context.Background(), cmd); res.Fresh {
		t.Error("a redelivery was recorded again")
	}
}

func TestGetTimelinePagingAndFilters(t *testing.T) {
	at := now
	store := &fakeStore{sources: []domain.SourceSummary{{Source: "/s", Events: 3}}}
	for _, id := range []string{"a", "b", "c"} {
		store.events = append(store.events, domain.Event{ID: id, Source: "/s", Time: at})
		at = at.Add(time.Second)
	}
	a := &app.App{Store: store, Now: func() time.Time { return now }}
	op := auth.Principal{Subject: "op", Roles: []auth.Role{auth.RoleOperator}}

	tl, err := a.GetTimeline(context.Background(), op, app.GetTimeline{PartnerID: "PG-R100-0000-006", Limit: "2", Type: "email."})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Events) != 2 || store.gotLimit != 3 || tl.Next == "" {
		t.Fatalf("page of 2 of 3: %d events, asked %d, next %q", len(tl.Events), store.gotLimit, tl.Next)
	}
	if want := []string{"com.partnerhub.email."}; !slices.Equal(store.gotPrefixes, want) {
		t.Errorf("prefixes %q, want %q", store.gotPrefixes, want)
	}
	if _, err := a.GetTimeline(context.Background(), op, app.GetTimeline{PartnerID: "PG-R100-0000-006", After: tl.Next}); err != nil {
		t.Fatal(err)
	}
	if store.gotAfter == nil || store.gotAfter.ID != "b" {
		t.Errorf("the next page starts after %+v, want after b", store.gotAfter)
	}
	tl, _ = a.GetTimeline(context.Background(), op, app.GetTimeline{PartnerID: "PG-R100-0000-006", Type: "com.partnerhub.email."})
	if tl.Next != "" || len(store.gotPrefixes) != 1 {
		t.Errorf("last page next %q; prefixes %q", tl.Next, store.gotPrefixes)
	}
	// A filter no event can match ("emial.") answered an empty page before.
	_, err = a.GetTimeline(context.Background(), op, app.GetTimeline{PartnerID: "PG-R100-0000-006", Type: "emial."})
	if ae, ok := apperr.As(err); !ok || ae.Code != app.CodeInvalidType {
		t.Errorf("type emial.: %v", err)
	}
}

func TestGetTimelineRefusesBeforeReading(t *testing.T) {
	store := &fakeStore{sources: []domain.SourceSummary{{Source: "/s", Events: 1}}}
	a := &app.App{Store: store, Now: func() time.Time { return now }}
	tests := []struct {
		name string
		p    auth.Principal
		kind apperr.Kind
		code string
	}{
		{"another partner's admin", auth.Principal{Subject: "u", PartnerID: "PG-0THE-R000-006", Roles: []auth.Role{auth.RolePartnerAdmin}}, apperr.KindNotFound, app.CodePartnerUnknown},
		{"upstream system", auth.Principal{Subject: "s", Roles: []auth.Role{auth.RoleUpstreamSystem}}, apperr.KindForbidden, "auth.role_required"},
		{"anonymous", auth.Principal{}, apperr.KindUnauthenticated, "auth.unauthenticated"},
	}
	for _, tt := range tests {
		_, err := a.GetTimeline(context.Background(), tt.p, app.GetTimeline{PartnerID: "PG-R100-0000-006"})
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != tt.kind || ae.Code != tt.code {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	if store.pageCalls != 0 {
		t.Errorf("read %d pages for refused callers", store.pageCalls)
	}
}

func TestRecordDeadLetterAtItsTimeOncePerHandler(t *testing.T) {
	store := &fakeStore{}
	a := &app.App{Store: store, Now: func() time.Time { return now }}
	at := now.Add(time.Hour)
	ev := domain.Event{ID: "e1", Source: "/services/registration", Type: "com.partnerhub.registration.x.v1", Time: now,
		Subject: "PG-R100-0000-006", Data: json.RawMessage(`{"provider_id":"PG-P100-0000-008"}`),
		DeadLetter: &domain.DeadLetter{Code: "c", Service: "agreements", Handler: "h1"}}
	res, err := a.RecordDeadLetter(context.Background(), app.RecordDeadLetter{Event: ev, At: at})
	if err != nil || !res.Fresh || !slices.Equal(res.Partners, []string{"PG-P100-0000-008", "PG-R100-0000-006"}) {
		t.Fatalf("RecordDeadLetter = %+v, %v", res, err)
	}
	if got := store.recorded[0]; !got.Time.Equal(at) || got.PartitionKey != "PG-R100-0000-006" {
		t.Errorf("time %v partition %q: a dead letter is placed when it was dead-lettered", got.Time, got.PartitionKey)
	}
	if res, _ := a.RecordDeadLetter(context.Background(), app.RecordDeadLetter{Event: ev, At: at}); res.Fresh {
		t.Error("a redelivered dead letter was recorded again")
	}
	if res, _ := a.RecordDeadLetter(context.Background(), app.RecordDeadLetter{Event: ev, At: at.Add(time.Minute)}); !res.Fresh || !res.Again {
		t.Errorf("a replay refused again: %+v, want fresh and again", res)
	}
	other := ev
	other.DeadLetter = &domain.DeadLetter{Code: "c", Service: "agreements", Handler: "h2"}
	if res, _ := a.RecordDeadLetter(context.Background(), app.RecordDeadLetter{Event: other, At: at}); !res.Fresh {
		t.Error("another handler's dead letter of the same event was taken for a redelivery")
	}
	anonymous := ev
	anonymous.DeadLetter = &domain.DeadLetter{Code: "c"}
	_, err = a.RecordDeadLetter(context.Background(), app.RecordDeadLetter{Event: anonymous})
	if ae, ok := apperr.As(err); !ok || ae.Code != app.CodeInvalidDeadLetter || !apperr.Permanent(err) {
		t.Errorf("a dead letter naming no handler: %v", err)
	}
}

func TestTheFeedSaysHowManyTypeFiltersItTakes(t *testing.T) {
	a := &app.App{Store: &fakeStore{}, Now: func() time.Time { return now }}
	types := make([]string, app.MaxFeedTypes+1)
	for i := range types {
		types[i] = "registration."
	}
	_, err := a.GetFeed(context.Background(), auth.Principal{Subject: "ops", Roles: []auth.Role{auth.RoleOperator}}, app.GetFeed{Types: types})
	ae, ok := apperr.As(err)
	want := fmt.Sprintf("at most %d values, not %d", app.MaxFeedTypes, app.MaxFeedTypes+1)
	if !ok || ae.Code != app.CodeInvalidType || len(ae.Fields) != 1 || ae.Fields[0].Field != "query.type" || ae.Fields[0].Message != want {
		t.Fatalf("got %v %+v, want query.type %q", err, ae, want)
	}
}
