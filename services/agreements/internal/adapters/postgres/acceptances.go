package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Acceptances implements app.AcceptanceRepository. It has no update or
// delete, and the database role could not run them anyway.
type Acceptances struct{ s *Store }

const acceptanceColumns = `id, partner_id, location_id, enrollment_id, program, market, version_id, text_sha256,
	acceptor_user_id, acceptor_name, acceptor_email, acceptor_role, accepted_at, client_accepted_at, effective_at,
	client_ip, user_agent, request_id, verification_decision_id, COALESCE(supersedes_id, ''), channel`

// notSuperseded is the condition "no record of the same key supersedes a";
// it is answered by the unique index.
const notSuperseded = `NOT EXISTS (SELECT 1 FROM acceptances s WHERE s.location_id = a.location_id
	AND s.program = a.program AND s.market = a.market AND COALESCE(s.supersedes_id, '') = a.id)`

// Append inserts a with its events. It returns domain.ErrAcceptanceRace,
// inserting nothing, when a.SupersedesID is not the key's current record (or
// is empty while the key has one). For a gated program it re-checks the
// partner's approval under a share lock on the partner row, which a
// verification decision's handler must take exclusively: an acceptance and a
// revocation cannot interleave. It holds its program's lock shared until
// the transaction ends, so that a version of the program published
// meanwhile is either waited for or waits (programLockClass). then runs in
// the same transaction once a is written; its error rolls a back (with the
// caller's transaction when Append joined one).
func (r *Acceptances) Append(ctx context.Context, a *domain.Acceptance, then func(ctx context.Context) error) error {
	st := a.State()
	var supersedes *string
	if st.SupersedesID != "" {
		supersedes = &st.SupersedesID
	}
	return r.s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// The lock, the check of the superseded record and the insert go in
		// one round trip; a refusal found in their answers rolls the insert
		// back with the transaction.
		var (
			raw      []byte
			found    bool
			same     = true
			inserted int64
		)
		b := &pgx.Batch{}
		// The program's lock, shared: see programLockClass.
		b.Queue(lockProgramShared, programLockClass, string(st.Program))
		if raw, found = lockedDoc(ctx, st.PartnerID); !found { // held FOR UPDATE already: as good as FOR SHARE
			b.Queue(`SELECT doc FROM partners WHERE partner_id = $1 FOR SHARE`, st.PartnerID).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&raw)
				if errors.Is(err, pgx.ErrNoRows) {
					return nil
				}
				found = err == nil
				return err
			})
		}
		if st.SupersedesID != "" {
			b.Queue(`SELECT location_id = $2 AND program = $3 AND market = $4 FROM acceptances WHERE id = $1`,
				st.SupersedesID, st.LocationID, string(st.Program), string(st.Market)).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&same)
				if errors.Is(err, pgx.ErrNoRows) {
					same = false
					return nil
				}
				return err
			})
		}
		// The insert repeats those checks as its condition, so that it
		// inserts nothing when one fails: in a caller's transaction, which
		// may go on after a refusal, nothing of a refused acceptance stays.
		// ON CONFLICT DO NOTHING (any unique index) waits for a concurrent
		// insert of the same key and then skips: the loser learns it lost
		// without aborting a surrounding transaction.
		b.Queue(`INSERT INTO acceptances (id, partner_id, location_id, enrollment_id, program, market,
			version_id, text_sha256, acceptor_user_id, acceptor_name, acceptor_email, acceptor_role, accepted_at,
			client_accepted_at, effective_at, client_ip, user_agent, request_id, verification_decision_id, supersedes_id, channel)
			SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21
			WHERE EXISTS (SELECT 1 FROM partners p WHERE p.partner_id = $2
					AND (NOT $22 OR p.doc->'verification'->>'outcome' = $23))
				AND ($20::text IS NULL OR EXISTS (SELECT 1 FROM acceptances s
					WHERE s.id = $20 AND s.location_id = $3 AND s.program = $5 AND s.market = $6))
			ON CONFLICT DO NOTHING`,
			st.ID, st.PartnerID, st.LocationID, st.EnrollmentID, string(st.Program), string(st.Market), st.VersionID,
			string(st.TextSHA256), st.Acceptor.UserID, st.Acceptor.Name, st.Acceptor.Email, st.Acceptor.Role, st.AcceptedAt,
			nullTime(st.ClientAcceptedAt), st.EffectiveAt, st.ClientIP, st.UserAgent, st.RequestID,
			st.VerificationDecisionID, supersedes, string(st.Channel),
			st.Program.GatedByVerification(), string(domain.VerificationApproved)).Exec(func(tag pgconn.CommandTag) error {
			inserted = tag.RowsAffected()
			return nil
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("lock partner %s and insert acceptance %s: %w", st.PartnerID, st.ID, err)
		}
		if !found {
			return domain.ErrPartnerNotFound
		}
		if st.Program.GatedByVerification() {
			p, err := decodePartner(raw)
			if err != nil {
				return err
			}
			switch p.Verification().Outcome {
			case domain.VerificationApproved:
			case domain.VerificationRevoked:
				return domain.ErrVerificationRevoked
			default:
				return domain.ErrVerificationNotApproved
			}
		}
		if !same {
			return fmt.Errorf("acceptance %s supersedes %s, which is not a record of the same key", st.ID, st.SupersedesID)
		}
		if inserted == 0 {
			return domain.ErrAcceptanceRace
		}
		if err := r.s.emit(ctx, tx, a.PullEvents()); err != nil {
			return err
		}
		if then != nil {
			return then(ctx)
		}
		return nil
	})
}

// currentSQL selects the current record of a key ($1 location, $2 program, $3 market).
const currentSQL = `SELECT ` + acceptanceColumns + ` FROM acceptances a
	WHERE a.location_id = $1 AND a.program = $2 AND a.market = $3 AND ` + notSuperseded + `
	ORDER BY a.accepted_at DESC, a.recorded_at DESC LIMIT 1`

// Current returns the key's current record or domain.ErrAcceptanceNotFound.
func (r *Acceptances) Current(ctx context.Context, key domain.AcceptanceKey) (*domain.Acceptance, error) {
	a, err := scanAcceptance(r.s.q(ctx).QueryRow(ctx, currentSQL, key.LocationID, string(key.Program), string(key.Market)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.ErrAcceptanceNotFound
	}
	return a, err
}

// ListByPartner returns every record of a partner, oldest first.
func (r *Acceptances) ListByPartner(ctx context.Context, partnerID string) ([]*domain.Acceptance, error) {
	return r.list(ctx, `SELECT `+acceptanceColumns+` FROM acceptances a WHERE a.partner_id = $1
		ORDER BY a.accepted_at, a.recorded_at, a.id`, partnerID)
}

// ListCurrentByProgram returns the current record of every key of program.
func (r *Acceptances) ListCurrentByProgram(ctx context.Context, program domain.Program) ([]*domain.Acceptance, error) {
	return r.list(ctx, `SELECT `+acceptanceColumns+` FROM acceptances a WHERE a.program = $1 AND `+notSuperseded+`
		ORDER BY a.accepted_at, a.id`, string(program))
}

func (r *Acceptances) list(ctx context.Context, sql string, args ...any) ([]*domain.Acceptance, error) {
	return queryAll(ctx, r.s.q(ctx), scanAcceptance, sql, args...)
}

func scanAcceptance(row pgx.Row) (*domain.Acceptance, error) {
	var (
		st                             domain.AcceptanceState
		program, market, hash, channel string
		acceptedAt, effectiveAt        time.Time
		clientAt                       *time.Time
	)
	err := row.Scan(&st.ID, &st.PartnerID, &st.LocationID, &st.EnrollmentID, &program, &market, &st.VersionID, &hash,
		&st.Acceptor.UserID, &st.Acceptor.Name, &st.Acceptor.Email, &st.Acceptor.Role, &acceptedAt, &clientAt, &effectiveAt,
		&st.ClientIP, &st.UserAgent, &st.RequestID, &st.VerificationDecisionID, &st.SupersedesID, &channel)
	if err != nil {
		return nil, err
	}
	st.Program, st.Market, st.TextSHA256, st.Channel = domain.Program(program), domain.Market(market), domain.TextHash(hash), domain.Channel(channel)
	st.AcceptedAt, st.EffectiveAt, st.ClientAcceptedAt = acceptedAt.UTC(), effectiveAt.UTC(), utcPtr(clientAt)
	return domain.RestoreAcceptance(st), nil
}
