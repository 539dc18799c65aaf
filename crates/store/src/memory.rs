//! [`MemoryStore`]: the in-memory [`Store`], for tests, and the model the SQLite store is checked against.
//!
//! It is written to be obviously correct rather than fast: one mutex over plain maps, and each lease sorts the
//! queue's available tasks. It purges only when [`Store::purge`] is called.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use taskqueue_model::Timestamp;

use crate::store_config::{HOUR, MINUTE, NameGenerator, is_over_limit, lease_second, window_start};
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, OverLimit, PurgeReport, QueueStats, Store,
    StoreConfig, StoreError, StoredTask, TagFilter,
};

/// A [`Store`] in memory: nothing survives the process. For tests, and for trying the server out.
///
/// ```
/// use taskqueue_model::Timestamp;
/// use taskqueue_store::{LeaseRequest, MemoryStore, NewTask, Store, StoreConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), taskqueue_store::StoreError> {
/// let store = MemoryStore::new(StoreConfig::default());
/// let now = Timestamp::from_micros(1_700_000_000_000_000);
/// store.insert("pull", NewTask::new(b"work".to_vec()).with_name("t1"), now).await?;
/// let leased = store.lease("pull", &LeaseRequest::new(10, 60), None, now).await?;
/// assert_eq!(leased[0].retry_count, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    config: StoreConfig,
    state: Mutex<State>,
}

/// Everything, keyed by `(queue, name)` or `(queue, second)`.
#[derive(Debug)]
struct State {
    tasks: BTreeMap<(String, String), StoredTask>,
    /// Deletion time by `(queue, name)`; expired entries stay until [`Store::purge`].
    tombstones: BTreeMap<(String, String), Timestamp>,
    /// Tasks leased per `(queue, second)`.
    lease_log: BTreeMap<(String, i64), u64>,
    /// Issued access tokens by digest.
    tokens: BTreeMap<[u8; 32], IssuedToken>,
    names: NameGenerator,
}

impl MemoryStore {
    /// An empty store applying `config`.
    #[must_use]
    pub fn new(config: StoreConfig) -> Self {
        let names = NameGenerator::new(config.name_seed);
        Self {
            config,
            state: Mutex::new(State {
                tasks: BTreeMap::new(),
                tombstones: BTreeMap::new(),
                lease_log: BTreeMap::new(),
                tokens: BTreeMap::new(),
                names,
            }),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Storage("the memory store's lock is poisoned".to_owned()))
    }
}

fn key(queue: &str, name: &str) -> (String, String) {
    (queue.to_owned(), name.to_owned())
}

impl State {
    fn is_tombstoned(&self, config: &StoreConfig, queue: &str, name: &str, now: Timestamp) -> bool {
        self.tombstones
            .get(&key(queue, name))
            .is_some_and(|&deleted_at| deleted_at > config.tombstone_cutoff(now))
    }

    /// The error for a name with no live task: tombstoned or unknown.
    fn missing(&self, config: &StoreConfig, queue: &str, name: &str, now: Timestamp) -> StoreError {
        if self.is_tombstoned(config, queue, name, now) {
            StoreError::Tombstoned
        } else {
            StoreError::NotFound
        }
    }

    fn remove_and_tombstone(&mut self, queue: &str, name: &str, now: Timestamp) {
        self.tasks.remove(&key(queue, name));
        self.tombstones.insert(key(queue, name), now);
    }

    /// The queue's tasks in (ETA, name) order.
    fn queue_in_eta_order(&self, queue: &str) -> Vec<&StoredTask> {
        let mut tasks: Vec<&StoredTask> = self
            .tasks
            .values()
            .filter(|task| task.queue == queue)
            .collect();
        tasks.sort_by(|a, b| (a.eta, &a.name).cmp(&(b.eta, &b.name)));
        tasks
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert(
        &self,
        queue: &str,
        mut task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let mut state = self.lock()?;
        let name = match task.name.take() {
            Some(name) => {
                if state.tasks.contains_key(&key(queue, &name)) {
                    return Err(StoreError::AlreadyExists);
                }
                if state.is_tombstoned(&self.config, queue, &name, now) {
                    return Err(StoreError::Tombstoned);
                }
                name
            }
            None => loop {
                let name = state.names.next_name(now);
                if !state.tasks.contains_key(&key(queue, &name))
                    && !state.is_tombstoned(&self.config, queue, &name, now)
                {
                    break name;
                }
            },
        };
        state.tombstones.remove(&key(queue, &name));
        let stored = StoredTask::inserted(queue, name.clone(), task, now);
        state.tasks.insert(key(queue, &name), stored.clone());
        Ok(stored)
    }

    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError> {
        let state = self.lock()?;
        match state.tasks.get(&key(queue, name)) {
            Some(task) => Ok(task.clone()),
            None => Err(state.missing(&self.config, queue, name, now)),
        }
    }

    async fn list(
        &self,
        queue: &str,
        limit: u32,
        _now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let state = self.lock()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(state
            .queue_in_eta_order(queue)
            .into_iter()
            .take(limit)
            .map(|task| StoredTask {
                payload: Vec::new(),
                ..task.clone()
            })
            .collect())
    }

    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if !state.tasks.contains_key(&key(queue, name)) {
            return Err(state.missing(&self.config, queue, name, now));
        }
        state.remove_and_tombstone(queue, name, now);
        Ok(())
    }

    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let mut state = self.lock()?;
        let num_tasks = usize::try_from(request.num_tasks).unwrap_or(usize::MAX);
        let skip_over_limit = self.config.over_limit == OverLimit::Skip;
        let available: Vec<&StoredTask> = state
            .queue_in_eta_order(queue)
            .into_iter()
            .filter(|task| task.is_available(now))
            .filter(|task| !(skip_over_limit && is_over_limit(task.retry_count, max_leases)))
            .collect();
        let with_tag = |tag: &str| -> Vec<String> {
            available
                .iter()
                .filter(|task| task.tag.as_deref() == Some(tag))
                .take(num_tasks)
                .map(|task| task.name.clone())
                .collect()
        };
        let chosen: Vec<String> = match &request.tags {
            TagFilter::Any => available
                .iter()
                .take(num_tasks)
                .map(|task| task.name.clone())
                .collect(),
            TagFilter::Tag(tag) => with_tag(tag),
            TagFilter::OldestTag => match available.first() {
                None => Vec::new(),
                Some(oldest) => match &oldest.tag {
                    Some(tag) => with_tag(tag),
                    None => available
                        .iter()
                        .take(num_tasks)
                        .filter(|task| task.tag.is_none())
                        .map(|task| task.name.clone())
                        .collect(),
                },
            },
        };

        let expiry = now.saturating_add(request.lease_duration());
        let mut leased = Vec::new();
        for name in chosen {
            let Some(task) = state.tasks.get_mut(&key(queue, &name)) else {
                continue;
            };
            if is_over_limit(task.retry_count, max_leases) {
                // Only reachable with OverLimit::Delete: Skip filtered these out.
                state.remove_and_tombstone(queue, &name, now);
                continue;
            }
            task.eta = expiry;
            task.leased = true;
            task.retry_count = task.retry_count.saturating_add(1);
            leased.push(task.clone());
        }
        if !leased.is_empty() {
            let count = u64::try_from(leased.len()).unwrap_or(u64::MAX);
            *state
                .lease_log
                .entry((queue.to_owned(), lease_second(now)))
                .or_insert(0) += count;
        }
        Ok(leased)
    }

    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let mut state = self.lock()?;
        let Some(task) = state.tasks.get_mut(&key(queue, name)) else {
            return Err(state.missing(&self.config, queue, name, now));
        };
        if !proof.admits(task, now) {
            return Err(StoreError::LeaseExpired);
        }
        task.eta = now.saturating_add(std::time::Duration::from_secs(u64::from(new_lease_secs)));
        task.leased = new_lease_secs > 0;
        Ok(task.clone())
    }

    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError> {
        let state = self.lock()?;
        let tasks = state.queue_in_eta_order(queue);
        let leased_since = |first: i64| -> u64 {
            state
                .lease_log
                .iter()
                .filter(|((log_queue, second), _)| {
                    log_queue == queue && (first..=lease_second(now)).contains(second)
                })
                .map(|(_, count)| *count)
                .sum()
        };
        Ok(QueueStats {
            total_tasks: u64::try_from(tasks.len()).unwrap_or(u64::MAX),
            oldest_eta: tasks.first().map(|task| task.eta),
            leased_last_minute: leased_since(window_start(now, MINUTE)),
            leased_last_hour: leased_since(window_start(now, HOUR)),
        })
    }

    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError> {
        let mut state = self.lock()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let cutoff = self.config.tombstone_cutoff(now);
        let expired: Vec<(String, String)> = state
            .tombstones
            .iter()
            .filter(|(_, deleted_at)| **deleted_at <= cutoff)
            .map(|(key, _)| key.clone())
            .take(limit)
            .collect();
        for key in &expired {
            state.tombstones.remove(key);
        }
        let first_kept = window_start(now, HOUR);
        let old: Vec<(String, i64)> = state
            .lease_log
            .keys()
            .filter(|(_, second)| *second < first_kept)
            .take(limit)
            .cloned()
            .collect();
        for key in &old {
            state.lease_log.remove(key);
        }
        let expired_tokens: Vec<[u8; 32]> = state
            .tokens
            .iter()
            .filter(|(_, token)| token.expires_at <= now)
            .map(|(digest, _)| *digest)
            .take(limit)
            .collect();
        for digest in &expired_tokens {
            state.tokens.remove(digest);
        }
        Ok(PurgeReport {
            tombstones: u64::try_from(expired.len()).unwrap_or(u64::MAX),
            lease_log: u64::try_from(old.len()).unwrap_or(u64::MAX),
            tokens: u64::try_from(expired_tokens.len()).unwrap_or(u64::MAX),
        })
    }

    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        self.lock()?.tokens.insert(token.digest, token);
        Ok(())
    }

    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError> {
        Ok(self.lock()?.tokens.get(&digest).cloned())
    }
}
