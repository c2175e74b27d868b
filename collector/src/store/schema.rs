//! The collector's database schema, as the migrations that build it, in order. A database
//! records how many it has had (`PRAGMA user_version`); opening runs the rest, each in its
//! own transaction. Invariant: a migration is never changed once released, only followed by
//! another, so that a database written by any earlier collector is brought up to date
//! without losing anything.

use rusqlite::{params, Transaction};

use crate::indexed::IndexedResponse;

pub struct Migration {
    pub sql: &'static str,
    /// Work SQL cannot do, run after `sql` in the same transaction.
    pub then: Option<fn(&Transaction) -> rusqlite::Result<()>>,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: "CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        enrolled_at TEXT NOT NULL,
        revoked_at TEXT,
        last_seen_at TEXT,
        last_status_json TEXT
    );
    CREATE TABLE enrollment_codes (
        code_hash TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_at TEXT,
        used_by TEXT
    );
    -- One row per response, ever: the primary key is the response's own id, made on the
    -- kiosk when the visit ended, so a resend can never store it twice.
    CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        survey_id TEXT NOT NULL,
        survey_version TEXT NOT NULL,
        outcome TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        time_basis TEXT NOT NULL,
        received_at TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        record_json TEXT NOT NULL
    );
    CREATE INDEX responses_by_start ON responses (started_ms);
    -- The reply given to each batch, so that a replay gets the same answer.
    CREATE TABLE batches (
        device_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        reply_json TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, batch_id)
    );",
        then: None,
    },
    // 2: settings of the whole deployment, e.g. the receipt secret every kiosk keys
    // receipts with.
    Migration {
        sql: "CREATE TABLE deployment (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
        then: None,
    },
    // 3: every enrolment, kept: which device id took a token when, for which site, and the
    // site it was moved from, if any.
    Migration {
        sql: "CREATE TABLE enrolments (
        at TEXT NOT NULL,
        device_id TEXT NOT NULL,
        site TEXT NOT NULL,
        moved_from TEXT
    );",
        then: None,
    },
    // 4: responses made for questions. What results filter and count by is a column with an
    // index; chosen options and agreements are child rows; free text and contact details
    // (personal data) are tables of their own. Sites get a name, a time zone and a place in
    // organisation → area → site. Responses stored before are indexed from their records.
    Migration {
        sql: "ALTER TABLE responses ADD COLUMN reference TEXT NOT NULL DEFAULT '';
        ALTER TABLE responses ADD COLUMN language TEXT NOT NULL DEFAULT '';
        ALTER TABLE responses ADD COLUMN misuse INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE responses ADD COLUMN service TEXT;
        ALTER TABLE responses ADD COLUMN rating_scale TEXT;
        ALTER TABLE responses ADD COLUMN rating_value INTEGER;
        ALTER TABLE responses ADD COLUMN nps_value INTEGER;
        CREATE INDEX responses_by_site ON responses (site_id, started_ms);
        CREATE INDEX responses_by_device ON responses (device_id, started_ms);
        CREATE INDEX responses_by_survey ON responses (survey_id, survey_version, started_ms);
        CREATE INDEX responses_by_service ON responses (service, started_ms);
        CREATE INDEX responses_by_reference ON responses (reference);
        CREATE TABLE response_choices (
            response_id TEXT NOT NULL REFERENCES responses (id),
            step_id TEXT NOT NULL,
            option_id TEXT NOT NULL,
            PRIMARY KEY (response_id, step_id, option_id)
        );
        CREATE INDEX response_choices_by_option ON response_choices (step_id, option_id);
        CREATE TABLE response_agreements (
            response_id TEXT NOT NULL REFERENCES responses (id),
            step_id TEXT NOT NULL,
            value INTEGER NOT NULL
        );
        CREATE TABLE response_texts (
            response_id TEXT NOT NULL REFERENCES responses (id),
            step_id TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE TABLE response_contacts (
            response_id TEXT NOT NULL REFERENCES responses (id),
            step_id TEXT NOT NULL,
            name TEXT NOT NULL,
            reach TEXT NOT NULL,
            consent_text TEXT NOT NULL
        );
        CREATE TABLE sites (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            time_zone TEXT NOT NULL DEFAULT 'UTC',
            area TEXT NOT NULL DEFAULT '',
            organisation TEXT NOT NULL DEFAULT ''
        );
        INSERT OR IGNORE INTO sites (id, name) SELECT DISTINCT site, site FROM devices;
        INSERT OR IGNORE INTO sites (id, name) SELECT DISTINCT site_id, site_id FROM responses;
        INSERT OR IGNORE INTO sites (id, name) SELECT DISTINCT site, site FROM enrollment_codes;",
        then: Some(index_stored_responses),
    },
    // 5: the people who read results and work cases. Passwords as argon2id hashes; sessions
    // by the SHA-256 of their token (several collectors may share one database, so nothing
    // of a sign-in lives in one process's memory); failed sign-ins, to slow guessing per
    // account and per address.
    Migration {
        sql: "CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id),
            csrf TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL
        );
        CREATE INDEX sessions_by_user ON sessions (user_id);
        CREATE TABLE sign_in_failures (
            key TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at_ms);",
        then: None,
    },
    // 6: complaints and requests as cases, each site's rule for which responses become one
    // and its holidays (due dates count working days), notes, and the audit log, which the
    // database itself keeps append-only.
    Migration {
        sql: "CREATE TABLE case_rules (
            site_id TEXT PRIMARY KEY,
            unhappy_with_comment INTEGER NOT NULL DEFAULT 0,
            team TEXT NOT NULL,
            acknowledge_days INTEGER NOT NULL DEFAULT 5,
            reply_days INTEGER NOT NULL DEFAULT 20
        );
        CREATE TABLE site_holidays (
            site_id TEXT NOT NULL,
            day TEXT NOT NULL,
            PRIMARY KEY (site_id, day)
        );
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            response_id TEXT NOT NULL UNIQUE REFERENCES responses (id),
            reference TEXT NOT NULL,
            site_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL,
            team TEXT NOT NULL,
            owner_user_id INTEGER REFERENCES users (id),
            language TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            acknowledge_due TEXT NOT NULL,
            reply_due TEXT NOT NULL,
            root_cause TEXT,
            resolved INTEGER
        );
        CREATE INDEX cases_by_reference ON cases (reference);
        CREATE INDEX cases_by_due ON cases (state, reply_due);
        CREATE TABLE case_notes (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            at TEXT NOT NULL,
            user_id INTEGER REFERENCES users (id),
            public INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_email TEXT,
            case_id INTEGER,
            action TEXT NOT NULL,
            before TEXT,
            after TEXT
        );
        CREATE INDEX audit_by_case ON audit (case_id, id);
        CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        then: None,
    },
    // 7: how long each site keeps personal data: contact details for a set number of days
    // after their case closes, free text for a set number of days (or for good); and when
    // each case closed.
    Migration {
        sql: "ALTER TABLE case_rules ADD COLUMN contact_retention_days INTEGER NOT NULL DEFAULT 90;
        ALTER TABLE case_rules ADD COLUMN text_retention_days INTEGER;
        ALTER TABLE cases ADD COLUMN closed_ms INTEGER;",
        then: None,
    },
    // 8: what the results pages read, at the size of a large deployment. Comments are found
    // by their response. Every figure adds up its time range from one index holding the
    // columns it counts and filters by, in order of the hour started, so that a range is read
    // from the index alone (never the records) and responses by hour and site come out
    // already grouped.
    Migration {
        sql: "CREATE INDEX response_texts_by_response ON response_texts (response_id);
        CREATE INDEX responses_for_results ON responses (started_ms / 3600000, site_id,
            misuse, outcome, survey_id, service, rating_scale, rating_value, nps_value,
            started_ms, id);",
        then: None,
    },
    // 9: counts kept per site and local day and month as responses are stored
    // (`store::rollup`), so that a results page over a year of every site reads tens of
    // thousands of rows, not millions. Keys start with the span and the period, so that a
    // range of either is one stretch of each table; those stored before are counted here.
    Migration {
        sql: "CREATE TABLE rollup_counts (
            span INTEGER NOT NULL, period INTEGER NOT NULL, site_id TEXT NOT NULL,
            survey_id TEXT NOT NULL, service TEXT NOT NULL,
            total INTEGER NOT NULL, misuse INTEGER NOT NULL, completed INTEGER NOT NULL,
            index_thirds INTEGER NOT NULL, index_n INTEGER NOT NULL,
            PRIMARY KEY (span, period, site_id, survey_id, service)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_ratings (
            span INTEGER NOT NULL, period INTEGER NOT NULL, site_id TEXT NOT NULL,
            survey_id TEXT NOT NULL, service TEXT NOT NULL,
            scale TEXT NOT NULL, value INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (span, period, site_id, survey_id, service, scale, value)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_nps (
            span INTEGER NOT NULL, period INTEGER NOT NULL, site_id TEXT NOT NULL,
            survey_id TEXT NOT NULL, service TEXT NOT NULL,
            value INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (span, period, site_id, survey_id, service, value)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_choices (
            span INTEGER NOT NULL, period INTEGER NOT NULL, site_id TEXT NOT NULL,
            survey_id TEXT NOT NULL, service TEXT NOT NULL,
            step_id TEXT NOT NULL, option_id TEXT NOT NULL, mood TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (span, period, site_id, survey_id, service, step_id, option_id, mood)
        ) WITHOUT ROWID;
        CREATE TABLE rollup_hours (
            span INTEGER NOT NULL, period INTEGER NOT NULL, site_id TEXT NOT NULL,
            survey_id TEXT NOT NULL, service TEXT NOT NULL,
            -- 7 × 24 little-endian u32 counts, Monday 00:00 first (`rollup::Heat`): one row
            -- per key rather than 168, the weekday × hour table being read whole.
            counts BLOB NOT NULL,
            PRIMARY KEY (span, period, site_id, survey_id, service)
) WITHOUT ROWID;",
        then: Some(super::rollup::rebuild_all),
    },
    // 10: case rules per service (or touchpoint) at a site, which apply to that service's
    // responses in place of the site's rule: which become cases, the owning team, the
    // targets. Retention stays the site's, in its own row. Every rule says what counts as
    // unhappy (the lowest faces or stars, NPS up to a value) and whether an unhappy rating
    // needs a comment to become a case; rules set before keep their meaning (the two lowest
    // faces, NPS 0–6, with a comment).
    Migration {
        sql: "ALTER TABLE case_rules RENAME COLUMN unhappy_with_comment TO unhappy;
        ALTER TABLE case_rules ADD COLUMN comment_required INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE case_rules ADD COLUMN low_faces INTEGER NOT NULL DEFAULT 2;
        ALTER TABLE case_rules ADD COLUMN low_nps INTEGER NOT NULL DEFAULT 6;
        CREATE TABLE service_case_rules (
            site_id TEXT NOT NULL,
            service TEXT NOT NULL,
            unhappy INTEGER NOT NULL,
            comment_required INTEGER NOT NULL,
            low_faces INTEGER NOT NULL,
            low_nps INTEGER NOT NULL,
            team TEXT NOT NULL,
            acknowledge_days INTEGER NOT NULL,
            reply_days INTEGER NOT NULL,
            PRIMARY KEY (site_id, service)
        );",
        then: None,
    },
    // 11: the earliest reading of each boot of a device taken while its clock was
    // synchronised (`clocks`): the device's boot-time clock and the true time then. It places
    // responses recorded in that boot before the clock was synchronised, whichever later
    // request brings them.
    Migration {
        sql: "CREATE TABLE boot_clocks (
            device_id TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            boot_ms INTEGER NOT NULL,
            wall_ms INTEGER NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, boot_id)
        ) WITHOUT ROWID;",
        then: None,
    },
];

/// Writes what results ask about one stored response: its columns and its child rows. The
/// statements are prepared once per connection and kept: ingest and bulk loads call this for
/// every response.
pub fn write_index(tx: &Transaction, id: &str, indexed: &IndexedResponse) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE responses SET reference = ?2, language = ?3, misuse = ?4, service = ?5,
             rating_scale = ?6, rating_value = ?7, nps_value = ?8 WHERE id = ?1",
    )?
    .execute(params![
        id,
        indexed.reference,
        indexed.language,
        indexed.misuse,
        indexed.service,
        indexed.rating.as_ref().map(|r| r.0.as_str()),
        indexed.rating.as_ref().map(|r| r.1),
        indexed.nps,
    ])?;
    for (step, option) in &indexed.choices {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO response_choices (response_id, step_id, option_id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, step, option])?;
    }
    for (step, value) in &indexed.agreements {
        tx.prepare_cached(
            "INSERT INTO response_agreements (response_id, step_id, value) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, step, value])?;
    }
    for (step, text) in &indexed.personal.texts {
        tx.prepare_cached(
            "INSERT INTO response_texts (response_id, step_id, text) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, step, text])?;
    }
    for (step, name, reach, consent) in &indexed.personal.contacts {
        tx.prepare_cached(
            "INSERT INTO response_contacts (response_id, step_id, name, reach, consent_text)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, step, name, reach, consent])?;
    }
    Ok(())
}

/// Migration 4's second half: every response stored by an earlier collector indexed from
/// its record. A record that no longer reads (none should) keeps its row and JSON, with
/// empty columns, and is logged: nothing is dropped.
fn index_stored_responses(tx: &Transaction) -> rusqlite::Result<()> {
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, record_json FROM responses")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, json) in rows {
        match serde_json::from_str::<earshot_protocol::ResponseRecord>(&json) {
            Ok(record) => write_index(tx, &id, &IndexedResponse::of(&record))?,
            Err(e) => tracing::warn!(response = %id, error = %e,
                "a stored record could not be read to index it; it is kept as it is"),
        }
    }
    Ok(())
}
