//! Users, sessions and failed sign-ins in the store.
//!
//! Invariants: a session is found only by the SHA-256 of its token and only before it
//! expires; a disabled user's sessions find no one; failed sign-ins are counted by key
//! (an account's e-mail, or an address), so every collector sharing the database slows the
//! same guesser.

use std::time::SystemTime;

use earshot_protocol::time::{rfc3339, unix_ms};
use rusqlite::{params, OptionalExtension};

use super::{sha256_hex, SqliteStore, StoreError};
use crate::accounts::{Email, Role, User};

/// A session as a request finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// The session's CSRF token, which every form it posts must carry.
    pub csrf: String,
}

pub trait Accounts: Send + Sync {
    /// Adds a user; `Ok(false)` when one with that e-mail exists already.
    fn add_user(
        &self,
        email: &Email,
        role: Role,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError>;
    /// A user's id, role and password hash, by e-mail (without case).
    fn user_for_sign_in(&self, email: &str) -> Result<Option<(User, String)>, StoreError>;
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Starts a session for `user_id` valid until `expires_at`; the token's hash is kept.
    fn create_session(
        &self,
        token: &str,
        csrf: &str,
        user_id: i64,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<(), StoreError>;
    fn session(&self, token: &str, now: SystemTime) -> Result<Option<Session>, StoreError>;
    fn end_session(&self, token: &str) -> Result<(), StoreError>;
    fn record_sign_in_failure(&self, key: &str, now: SystemTime) -> Result<(), StoreError>;
    /// Failures under `key` since `since`.
    fn sign_in_failures(&self, key: &str, since: SystemTime) -> Result<u64, StoreError>;
    fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;
}

fn role_of(text: String) -> rusqlite::Result<Role> {
    Role::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

impl Accounts for SqliteStore {
    fn add_user(
        &self,
        email: &Email,
        role: Role,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO users (email, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (email) DO NOTHING",
            params![email.as_str(), role.as_str(), password_hash, rfc3339(now)],
        )
        .map(|n| n == 1)
        .map_err(|e| self.fail(e))
    }

    fn user_for_sign_in(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT id, email, role, password_hash FROM users
             WHERE email = ?1 AND disabled_at IS NULL",
            [email.trim()],
            |r| {
                Ok((
                    User {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        role: role_of(r.get(2)?)?,
                    },
                    r.get(3)?,
                ))
            },
        )
        .optional()
        .map_err(|e| self.fail(e))
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.lock();
        let result = (|| {
            let mut stmt = conn.prepare(
                "SELECT id, email, role FROM users WHERE disabled_at IS NULL ORDER BY email",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    role: role_of(r.get(2)?)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<User>>>()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn create_session(
        &self,
        token: &str,
        csrf: &str,
        user_id: i64,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        // Expired sessions go whenever a new one starts: the table stays the size of the
        // sessions in use.
        conn.execute("DELETE FROM sessions WHERE expires_ms < ?1", [unix_ms(now)])
            .and_then(|_| {
                conn.execute(
                    "INSERT INTO sessions (token_hash, user_id, csrf, created_ms, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        sha256_hex(token.as_bytes()),
                        user_id,
                        csrf,
                        unix_ms(now),
                        unix_ms(expires_at)
                    ],
                )
            })
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    fn session(&self, token: &str, now: SystemTime) -> Result<Option<Session>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT u.id, u.email, u.role, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_ms > ?2 AND u.disabled_at IS NULL",
            params![sha256_hex(token.as_bytes()), unix_ms(now)],
            |r| {
                Ok(Session {
                    user: User {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        role: role_of(r.get(2)?)?,
                    },
                    csrf: r.get(3)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.fail(e))
    }

    fn end_session(&self, token: &str) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [sha256_hex(token.as_bytes())],
        )
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    fn record_sign_in_failure(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO sign_in_failures (key, at_ms) VALUES (?1, ?2)",
            params![key, unix_ms(now)],
        )
        .and_then(|_| {
            // Nothing older than a day matters to any limit.
            conn.execute(
                "DELETE FROM sign_in_failures WHERE at_ms < ?1",
                [unix_ms(now) - 24 * 3600 * 1000],
            )
        })
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    fn sign_in_failures(&self, key: &str, since: SystemTime) -> Result<u64, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT COUNT(*) FROM sign_in_failures WHERE key = ?1 AND at_ms >= ?2",
            params![key, unix_ms(since)],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n.max(0) as u64)
        .map_err(|e| self.fail(e))
    }

    fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute("DELETE FROM sign_in_failures WHERE key = ?1", [key])
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_session_finds_its_user_until_it_expires_or_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = SystemTime::now();
        let email = Email::parse("lead@council.example").unwrap();
        assert!(store.add_user(&email, Role::Viewer, "$hash", now).unwrap());
        assert!(!store
            .add_user(
                &Email::parse("LEAD@council.example").unwrap(),
                Role::Admin,
                "x",
                now
            )
            .unwrap());
        let (user, hash) = store
            .user_for_sign_in("Lead@Council.example")
            .unwrap()
            .unwrap();
        assert_eq!((user.role, hash.as_str()), (Role::Viewer, "$hash"));
        store
            .create_session("tok", "csrf", user.id, now, now + Duration::from_secs(60))
            .unwrap();
        assert_eq!(store.session("tok", now).unwrap().unwrap().user, user);
        assert_eq!(store.session("other", now).unwrap(), None);
        assert_eq!(
            store.session("tok", now + Duration::from_secs(61)).unwrap(),
            None
        );
        store.end_session("tok").unwrap();
        assert_eq!(store.session("tok", now).unwrap(), None);
    }

    #[test]
    fn failures_are_counted_per_key_within_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = SystemTime::now();
        for _ in 0..3 {
            store.record_sign_in_failure("account:a@b", now).unwrap();
        }
        store
            .record_sign_in_failure("address:127.0.0.1", now)
            .unwrap();
        let since = now - Duration::from_secs(60);
        assert_eq!(store.sign_in_failures("account:a@b", since).unwrap(), 3);
        assert_eq!(
            store
                .sign_in_failures("account:a@b", now + Duration::from_secs(1))
                .unwrap(),
            0
        );
        store.clear_sign_in_failures("account:a@b").unwrap();
        assert_eq!(store.sign_in_failures("account:a@b", since).unwrap(), 0);
    }
}
