//! A few slots shared fairly by lanes: when every slot is busy, waiters are served one lane at
//! a time in turn (round robin), each lane's own waiters first come first served.
//!
//! The password-hashing pool has one slot per core for the whole service. With one FIFO queue,
//! a tenant whose users (or attackers) send thousands of logins would put every other tenant's
//! logins behind all of them. With a queue per lane, another tenant's login waits for at most
//! one hash per busy lane, however long the flood; and a lane may keep only so many waiting —
//! past that its requests are refused at once (429) instead of piling up memory and latency.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// What names a lane.
pub trait Lane: Eq + Hash + Copy {}
impl<T: Eq + Hash + Copy> Lane for T {}

/// The slots and their waiters.
pub struct FairSlots<L: Lane> {
    state: Arc<Mutex<State<L>>>,
    max_waiting: usize,
}

struct State<L: Lane> {
    free: usize,
    waiting: HashMap<L, VecDeque<oneshot::Sender<Slot<L>>>>,
    /// The lanes with waiters, in the order they are served.
    turns: VecDeque<L>,
}

/// A slot held; dropping it hands it to the next waiter (or frees it).
pub struct Slot<L: Lane> {
    state: Arc<Mutex<State<L>>>,
}

/// A lane already has as many waiters as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneFull;

impl<L: Lane> FairSlots<L> {
    /// `slots` slots; at most `max_waiting` waiters per lane.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                free: slots.max(1),
                waiting: HashMap::new(),
                turns: VecDeque::new(),
            })),
            max_waiting,
        }
    }

    /// A slot for `lane`: at once when one is free and nobody waits, else in `lane`'s turn.
    pub async fn acquire(&self, lane: L) -> Result<Slot<L>, LaneFull> {
        let receiver = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.free > 0 && state.turns.is_empty() {
                state.free -= 1;
                return Ok(Slot {
                    state: self.state.clone(),
                });
            }
            let queue = state.waiting.entry(lane).or_default();
            if queue.len() >= self.max_waiting {
                return Err(LaneFull);
            }
            let (sender, receiver) = oneshot::channel();
            queue.push_back(sender);
            if !state.turns.contains(&lane) {
                state.turns.push_back(lane);
            }
            receiver
        };
        // A sender is dropped only with the state, which lives as long as we do.
        receiver.await.map_err(|_| LaneFull)
    }

    /// Lanes with waiters, and waiters in all (for tests and figures).
    #[cfg(test)]
    pub fn waiting(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (
            state.turns.len(),
            state.waiting.values().map(VecDeque::len).sum(),
        )
    }
}

impl<L: Lane> Drop for Slot<L> {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let Some(lane) = state.turns.pop_front() else {
                state.free += 1;
                return;
            };
            let Some(queue) = state.waiting.get_mut(&lane) else {
                continue;
            };
            let Some(next) = queue.pop_front() else {
                state.waiting.remove(&lane);
                continue;
            };
            if queue.is_empty() {
                state.waiting.remove(&lane);
            } else {
                state.turns.push_back(lane);
            }
            let handed = Slot {
                state: self.state.clone(),
            };
            match next.send(handed) {
                Ok(()) => return,
                // The waiter went away: the slot goes to the next one. (Forgotten, not
                // dropped: dropping it here would take this lock again.)
                Err(unsent) => std::mem::forget(unsent),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flooding_lane_waits_its_turn_behind_a_single_request() {
        let slots = Arc::new(FairSlots::new(1, 100));
        let first = slots.acquire('a').await.expect("free");
        // Lane a floods; lane b asks once, after the flood.
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, lane) in ['a', 'a', 'a', 'a', 'b'].into_iter().enumerate() {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let slot = slots.acquire(lane).await.expect("queued");
                order.lock().unwrap().push((lane, i));
                drop(slot);
            }));
            tokio::task::yield_now().await;
        }
        assert_eq!(slots.waiting(), (2, 5));
        drop(first);
        for task in tasks {
            task.await.expect("task");
        }
        let served: Vec<char> = order.lock().unwrap().iter().map(|(l, _)| *l).collect();
        assert_eq!(
            served,
            ['a', 'b', 'a', 'a', 'a'],
            "b is served second, not last"
        );
    }

    #[tokio::test]
    async fn a_lane_may_keep_only_so_many_waiting_and_cancelled_waiters_pass_their_turn() {
        let slots = Arc::new(FairSlots::new(1, 2));
        let held = slots.acquire(1).await.expect("free");
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(1).await.map(drop) })
        };
        tokio::task::yield_now().await;
        let queued = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(1).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert_eq!(slots.acquire(1).await.err(), Some(LaneFull));
        waiter.abort();
        let _ = waiter.await;
        drop(held);
        assert_eq!(queued.await.expect("task"), Ok(()));
        // Everything was handed back: the one slot is free again.
        drop(slots.acquire(2).await.expect("free"));
        assert_eq!(slots.waiting(), (0, 0));
    }
}
