//! AWS layer: the shared evidence store's memory — values kept under a byte budget, the least
//! recently used dropped first — and single flight: concurrent askers of one key wait on one
//! read instead of each starting their own.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Values with their weight in bytes, at most `budget` bytes in all.
#[derive(Debug)]
pub(super) struct Budgeted<K: Hash + Eq, V> {
    budget: usize,
    state: Mutex<State<K, V>>,
}

#[derive(Debug)]
struct State<K: Hash + Eq, V> {
    entries: lru::LruCache<K, (Arc<V>, usize)>,
    bytes: usize,
}

impl<K: Hash + Eq, V> Budgeted<K, V> {
    /// An empty store holding at most `budget` bytes.
    pub(super) fn new(budget: usize) -> Self {
        Budgeted {
            budget,
            state: Mutex::new(State {
                entries: lru::LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key`, marked as recently used.
    pub(super) fn get(&self, key: &K) -> Option<Arc<V>> {
        self.state().entries.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value` (weighing `bytes`) under `key`, then drops the least recently used values
    /// until the store is within its budget (`value` itself when it alone is over it). Returns
    /// how many values were dropped (a replaced value is not counted).
    pub(super) fn put(&self, key: K, value: Arc<V>, bytes: usize) -> u64 {
        let mut state = self.state();
        if let Some((_, old)) = state.entries.put(key, (value, bytes)) {
            state.bytes -= old;
        }
        state.bytes += bytes;
        let mut evicted = 0;
        while state.bytes > self.budget {
            let Some((_, (_, weight))) = state.entries.pop_lru() else {
                break;
            };
            state.bytes -= weight;
            evicted += 1;
        }
        evicted
    }

    /// The bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.state().bytes
    }
}

/// Reads in flight, one per key.
#[derive(Debug)]
pub(super) struct Flights<K: Hash + Eq, V> {
    running: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Hash + Eq, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of the read of `key` in flight, or of `read` when none is: every concurrent
    /// asker gets the one read's value. Should the asker driving the read be cancelled, the next
    /// waiter runs its own `read`. Once the value is there, the flight ends; later askers start
    /// a new one (keep the value elsewhere — inside `read` — to serve them from memory).
    pub(super) async fn run<F: Future<Output = V>>(&self, key: K, read: F) -> V {
        let cell = self.running().entry(key.clone()).or_default().clone();
        let value = cell.get_or_init(|| read).await.clone();
        let mut running = self.running();
        if running.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            running.remove(&key);
        }
        value
    }

    /// Reads in flight now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.running().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn the_least_recently_used_values_go_first_when_over_budget() {
        let store = Budgeted::new(100);
        assert_eq!(store.put("a", Arc::new(1), 40), 0);
        assert_eq!(store.put("b", Arc::new(2), 40), 0);
        assert!(store.get(&"a").is_some(), "a is now the most recent");
        assert_eq!(store.put("c", Arc::new(3), 40), 1);
        assert!(store.get(&"b").is_none(), "b was the least recently used");
        assert!(store.get(&"a").is_some() && store.get(&"c").is_some());
        assert_eq!(store.bytes(), 80);
        assert_eq!(
            store.put("c", Arc::new(4), 10),
            0,
            "a replaced value is no eviction"
        );
        assert_eq!((store.bytes(), store.get(&"c").as_deref()), (50, Some(&4)));
        assert_eq!(
            store.put("huge", Arc::new(5), 1000),
            3,
            "over budget alone: dropped too"
        );
        assert_eq!(store.bytes(), 0);
    }

    #[tokio::test]
    async fn concurrent_askers_of_one_key_share_one_read() {
        let flights: Arc<Flights<&str, u32>> = Arc::default();
        let reads = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let askers: Vec<_> = (0..5)
            .map(|_| {
                let (flights, reads, gate) = (flights.clone(), reads.clone(), gate.clone());
                tokio::spawn(async move {
                    flights
                        .run("day", async {
                            gate.notified().await;
                            reads.fetch_add(1, Ordering::SeqCst) + 7
                        })
                        .await
                })
            })
            .collect();
        while flights.len() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
        gate.notify_one();
        for asker in askers {
            assert_eq!(asker.await.unwrap(), 7);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0, "the flight ended");
        assert_eq!(
            flights.run("day", async { 9 }).await,
            9,
            "a later asker reads anew"
        );
    }
}
