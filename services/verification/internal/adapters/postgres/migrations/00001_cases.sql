-- +goose Up
-- A verification case is stored as a JSONB document (the aggregate) plus the
-- columns the service queries: the partner (one case per partner), the
-- status and the next instant its timers have work (the poller's index).
CREATE TABLE cases (
    id         TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    market     TEXT NOT NULL,
    status     TEXT NOT NULL,
    timer_at   TIMESTAMPTZ,
    doc        JSONB NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    opened_at  TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT cases_partner_id_key UNIQUE (partner_id)
);
CREATE INDEX cases_timer_at ON cases (timer_at) WHERE timer_at IS NOT NULL;

-- Review tasks: task id → case id, plus the queue columns verifiers filter
-- on, and a copy of the task as the case document holds it.
CREATE TABLE review_tasks (
    task_id     TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    partner_id  TEXT NOT NULL,
    market      TEXT NOT NULL,
    check_kind  TEXT NOT NULL,
    status      TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    claimed_by  TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ,
    task        JSONB NOT NULL
);
CREATE INDEX review_tasks_case ON review_tasks (case_id);
CREATE INDEX review_tasks_queue ON review_tasks (due_at) WHERE status IN ('open', 'pending_confirmation');

-- +goose Down
DROP TABLE review_tasks;
DROP TABLE cases;
