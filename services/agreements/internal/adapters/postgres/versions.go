package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Versions implements app.VersionRepository.
type Versions struct{ s *Store }

const versionColumns = `id, program, name, languages, markets, effective_from, text_url, text_sha256, policy,
	reacceptance_window_ns, published_at, published_by, retired_at, retired_by, fan_out_pending`

// Add stores a newly published version; domain.ErrVersionExists when the id is taken.
func (r *Versions) Add(ctx context.Context, v *domain.Version) error {
	st := v.State()
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		markets := make([]string, len(st.Markets))
		for i, m := range st.Markets {
			markets[i] = string(m)
		}
		// Acceptances of the program appended in transactions still open
		// are waited for: see programLockClass.
		if _, err := tx.Exec(ctx, lockProgramExclusive, programLockClass, string(st.Program)); err != nil {
			return fmt.Errorf("lock program %s: %w", st.Program, err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO versions (`+versionColumns+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT (id) DO NOTHING`,
			st.ID, string(st.Program), st.Name, st.Languages, markets, st.EffectiveFrom, st.TextURL,
			string(st.TextSHA256), string(st.Policy), int64(st.ReacceptanceWindow), st.PublishedAt, st.PublishedBy,
			nullTime(st.RetiredAt), st.RetiredBy, st.FanOutPending)
		if err != nil {
			return fmt.Errorf("insert version %s: %w", st.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return domain.ErrVersionExists
		}
		if st.FanOutPending {
			if err := r.s.schedule(ctx, tx, TimerFanOut, st.ID, st.PublishedAt.Add(FanOutGrace)); err != nil {
				return err
			}
		}
		return r.s.emit(ctx, tx, v.PullEvents())
	})
}

// Get returns a version or domain.ErrVersionNotFound.
func (r *Versions) Get(ctx context.Context, id string) (*domain.Version, error) {
	v, err := scanVersion(r.s.q(ctx).QueryRow(ctx, `SELECT `+versionColumns+` FROM versions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrVersionNotFound
	}
	return v, err
}

// byProgramSQL selects every version of a program ($1).
const byProgramSQL = `SELECT ` + versionColumns + ` FROM versions WHERE program = $1 ORDER BY effective_from, published_at, id`

// ListByProgram returns every version of program, retired ones included.
func (r *Versions) ListByProgram(ctx context.Context, program domain.Program) ([]*domain.Version, error) {
	return r.list(ctx, byProgramSQL, string(program))
}

// ListAll returns every version, ordered by program and effective date.
func (r *Versions) ListAll(ctx context.Context) ([]*domain.Version, error) {
	return r.list(ctx, `SELECT `+versionColumns+` FROM versions ORDER BY program, effective_from, published_at, id`)
}

// ListFanOutPending returns versions whose re-acceptance fan-out is unfinished.
func (r *Versions) ListFanOutPending(ctx context.Context) ([]*domain.Version, error) {
	return r.list(ctx, `SELECT `+versionColumns+` FROM versions WHERE fan_out_pending ORDER BY published_at`)
}

// Update runs fn on the stored version in one transaction and saves it.
// Only retirement and the fan-out flag can change: the terms are immutable.
func (r *Versions) Update(ctx context.Context, id string, fn func(*domain.Version) error) error {
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		v, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM versions WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ErrVersionNotFound
		}
		if err != nil {
			return err
		}
		wasRetired := v.Retired()
		if err := fn(v); err != nil {
			return err
		}
		// A retirement cancels the version's open requirements once it has
		// committed; acceptances of the program still open are waited for,
		// so that a requirement one of them adds is among those it finds
		// (programLockClass). Marking a fan-out done takes no lock: the
		// timer's transaction that does it holds the rows it added.
		if v.Retired() && !wasRetired {
			if _, err := tx.Exec(ctx, lockProgramExclusive, programLockClass, string(v.Program())); err != nil {
				return fmt.Errorf("lock program %s: %w", v.Program(), err)
			}
			if err := r.s.schedule(ctx, tx, TimerRetirement, id, v.State().RetiredAt.Add(FanOutGrace)); err != nil {
				return err
			}
		}
		st := v.State()
		if _, err := tx.Exec(ctx, `UPDATE versions SET retired_at = $2, retired_by = $3, fan_out_pending = $4 WHERE id = $1`,
			id, nullTime(st.RetiredAt), st.RetiredBy, st.FanOutPending); err != nil {
			return fmt.Errorf("update version %s: %w", id, err)
		}
		return r.s.emit(ctx, tx, v.PullEvents())
	})
}

func (r *Versions) list(ctx context.Context, sql string, args ...any) ([]*domain.Version, error) {
	return queryAll(ctx, r.s.q(ctx), scanVersion, sql, args...)
}

func scanVersion(row pgx.Row) (*domain.Version, error) {
	var (
		st               domain.VersionState
		program, hash    string
		policy           string
		markets          []string
		window           int64
		effective, pubAt time.Time
		retired          *time.Time
	)
	err := row.Scan(&st.ID, &program, &st.Name, &st.Languages, &markets, &effective, &st.TextURL, &hash, &policy,
		&window, &pubAt, &st.PublishedBy, &retired, &st.RetiredBy, &st.FanOutPending)
	if err != nil {
		return nil, err
	}
	st.Program, st.TextSHA256, st.Policy = domain.Program(program), domain.TextHash(hash), domain.VersionPolicy(policy)
	for _, m := range markets {
		st.Markets = append(st.Markets, domain.Market(m))
	}
	st.ReacceptanceWindow = time.Duration(window)
	st.EffectiveFrom, st.PublishedAt, st.RetiredAt = effective.UTC(), pubAt.UTC(), utcPtr(retired)
	return domain.RestoreVersion(st), nil
}
