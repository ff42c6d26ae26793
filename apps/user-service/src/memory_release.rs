//! Gives memory freed under a load back to the system while the server idles (ADR 0029).
//!
//! mimalloc, the binary's allocator (ADR 0023, built with its arenas committed on demand: ADR
//! 0028), does not return a freed page at once: it marks it for purging after a delay (a
//! second) and purges what is due only when some thread next frees a page of its own. A
//! replica whose load has ended frees nothing (on Postgres no blocking thread exits either),
//! so the tens of megabytes a login flood or a profile load left free stayed resident for
//! good (issue 17's ceiling: 125 MB a minute after the load, against a goal of 100).
//!
//! [`spawn`] frees one block larger than mimalloc's largest size class every
//! [`RELEASE_EVERY`]: such a block is a page of its own, released as soon as it is freed, and
//! releasing a page runs the purge of every page whose delay has passed. The block is never
//! written, so the tick costs an allocation and a free, no resident memory and no database
//! work (issue 17, point 4: idle costs nothing). With another allocator it is a harmless
//! allocation.

use std::time::Duration;

/// How often the purge is nudged: well inside the minute the ceiling allows an idle server,
/// far above mimalloc's one-second purge delay.
pub const RELEASE_EVERY: Duration = Duration::from_secs(5);

/// The block freed each tick: above mimalloc's largest size class (512 KiB), so it gets a
/// page of its own that is released when the block is freed.
const NUDGE_BYTES: usize = 1 << 20;

/// Starts the ticks on the current runtime; they end with it.
pub fn spawn() {
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(RELEASE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            nudge();
        }
    });
}

/// Allocates and frees one page-sized block. `black_box` keeps the optimiser from removing
/// an allocation nobody reads.
fn nudge() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(NUDGE_BYTES)));
}
