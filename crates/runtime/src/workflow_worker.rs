//! The workflow worker: claims due steps in batches under a lease, runs them concurrently on
//! a bounded pool (each attempt under its step's timeout), and records each result through
//! the engine. It sleeps until woken (a start on any replica, a finished step here) or until
//! the next step is due (a timer, an expired lease, an execution's deadline), so an idle
//! worker looks at the store every [`MAX_IDLE`] at most (its safety net). A heartbeat renews the leases of attempts still running here, so a
//! long step is never taken over from a live worker. Shutdown stops claiming, lets running
//! attempts finish and be recorded for a few seconds, then hands what is left back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{broadcast, mpsc, Notify, Semaphore};
use usvc_core::ports::{
    ExecutionRepository, Invalidation, InvalidationMessage, StepOffer, WorkSignal,
};
use usvc_core::{ClaimedStep, ExecutionId, ExecutionState, StepStatus};
use usvc_workflow::{Engine, Finish, Prepared, StepOutcome};

use usvc_logger::caught;

/// The invalidation-bus channel that carries "work is ready" between replicas.
pub const WORK_CHANNEL: &str = "workflow-work";
/// The longest an idle worker sleeps without being woken. Starts and answers wake it (and,
/// when every slot of theirs is busy, every replica's, through [`WORK_CHANNEL`]); recordings
/// that leave steps for a claim wake it; and it computes when timers, leases and
/// deadlines fall due; but a lease taken by another replica after this worker last looked
/// is not in its computation, so this also bounds how late a dead replica's step is taken
/// over (the lease plus this). Each look costs three queries: 0.3 transactions/s idle
/// (issue 17: ≤ 1 per idle replica in all).
pub const MAX_IDLE: Duration = Duration::from_secs(10);
/// The shortest sleep, so a step due "now" but held by another replica cannot spin us.
const MIN_SLEEP: Duration = Duration::from_millis(10);
/// How long a recording waits for attempts of the same execution still running here.
const SIBLINGS_WAIT: Duration = Duration::from_millis(2);
/// How long shutdown lets running attempts finish and be recorded before handing them back.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a busy worker looks for executions past their deadline.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);

/// The attempts running in this process, by (execution, step), with their lease tokens:
/// what the heartbeat renews and what shutdown waits for.
type InFlight = Arc<Mutex<HashMap<(ExecutionId, String), String>>>;

/// Takes an attempt off [`InFlight`] when dropped: after its result was recorded, or when its
/// task ended any other way (a crash included), so a lease is renewed only while it runs.
struct Running {
    registry: InFlight,
    key: (ExecutionId, String),
    /// The pool slot, also held until the result is recorded: claims cannot outrun the
    /// recording, so what a dying process leaves to take over stays within its pool size.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Running {
    fn new(
        registry: &InFlight,
        step: &ClaimedStep,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) -> Self {
        let key = (step.execution_id, step.step_id.clone());
        if let Ok(mut map) = registry.lock() {
            map.insert(key.clone(), step.lease.clone());
        }
        Self {
            registry: registry.clone(),
            key,
            slot: Some(slot),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut map) = self.registry.lock() {
            map.remove(&self.key);
        }
        drop(self.slot.take());
    }
}

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Steps running at once in this process.
    pub concurrency: usize,
    /// Steps claimed per claim.
    pub batch: u32,
    /// How long a claim holds a step before it must be renewed (the heartbeat renews it every
    /// third of this while the attempt runs); a step whose lease ran out is presumed to belong
    /// to a dead worker and is taken over.
    pub lease: Duration,
    /// How long a start or a recording may spend running the pure steps it takes, to record
    /// them in its own transaction (ADR 0033; [`Recorder::run_pure`],
    /// `ExecutionService::start`); zero runs each on its own. It bounds what slow templates
    /// add to one execution's start or recording (wall time: waiting for a blocking thread
    /// counts); what is left runs as usual.
    pub pure_budget: Duration,
}

/// The running worker; its task ends once the last handle is gone or it is shut down.
pub struct WorkflowWorker {
    owner: String,
    in_flight: InFlight,
    loop_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    wake: Arc<Notify>,
    stopping: Arc<AtomicBool>,
    executions: Arc<dyn ExecutionRepository>,
    invalidation: Arc<dyn Invalidation>,
    ended: broadcast::Sender<Arc<ExecutionState>>,
    /// The slots steps run in.
    pool: Arc<Semaphore>,
    /// Slots held for offers not yet answered, by lease ([`WorkSignal::offer`]).
    offers: Mutex<HashMap<String, Vec<tokio::sync::OwnedSemaphorePermit>>>,
    /// What runs the steps taken under an offer.
    engine: Arc<Engine>,
    results: mpsc::UnboundedSender<(ClaimedStep, Finish, Running)>,
    lease: Duration,
    /// [`WorkerConfig::pure_budget`], handed on with every offer.
    pure_budget: Duration,
    starved: Arc<AtomicBool>,
    /// The runtime the worker was started on.
    runtime: tokio::runtime::Handle,
}

impl WorkflowWorker {
    /// Starts the worker on the current runtime.
    pub fn start(
        engine: Arc<Engine>,
        executions: Arc<dyn ExecutionRepository>,
        invalidation: Arc<dyn Invalidation>,
        config: WorkerConfig,
    ) -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let (ended, _) = broadcast::channel(1024);
        let remote = wake.clone();
        invalidation.subscribe(Arc::new(move |m: &InvalidationMessage| {
            if m.cache == WORK_CHANNEL {
                remote.notify_one();
            }
        }));
        let (results, finished) = mpsc::unbounded_channel();
        let starved = Arc::new(AtomicBool::new(false));
        let worker = Arc::new(Self {
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            in_flight: InFlight::default(),
            loop_task: Mutex::new(None),
            wake: wake.clone(),
            stopping: Arc::new(AtomicBool::new(false)),
            executions: executions.clone(),
            invalidation,
            ended: ended.clone(),
            pool: Arc::new(Semaphore::new(config.concurrency.max(1))),
            offers: Mutex::new(HashMap::new()),
            engine: engine.clone(),
            results: results.clone(),
            lease: config.lease,
            pure_budget: config.pure_budget,
            starved: starved.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        let pool = worker.pool.clone();
        tokio::spawn(record_results(
            Recorder {
                engine: engine.clone(),
                ended,
                wake: wake.clone(),
                owner: worker.owner.clone(),
                lease: config.lease,
                in_flight: worker.in_flight.clone(),
                stopping: worker.stopping.clone(),
                pool: pool.clone(),
                starved: starved.clone(),
                batch: usize::try_from(config.batch).unwrap_or(usize::MAX),
                pure_budget: config.pure_budget,
                results: results.downgrade(),
            },
            finished,
        ));
        tokio::spawn(heartbeat(
            Arc::downgrade(&worker),
            engine.clone(),
            executions.clone(),
            worker.in_flight.clone(),
            config.lease,
        ));
        let run = Run {
            engine,
            executions,
            owner: worker.owner.clone(),
            wake,
            results,
            in_flight: worker.in_flight.clone(),
            pool,
            config,
            last_expiry: std::sync::Mutex::new(None),
            starved,
        };
        let (alive, stopping) = (Arc::downgrade(&worker), worker.stopping.clone());
        let task = tokio::spawn(async move {
            while alive.strong_count() > 0 && !stopping.load(Ordering::Acquire) {
                if caught("workflow worker", run.round()).await.is_err() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        if let Ok(mut slot) = worker.loop_task.lock() {
            *slot = Some(task);
        }
        worker
    }

    /// Executions that ended in this process, as they ended (for `?wait=`: no read).
    pub fn ended(&self) -> broadcast::Receiver<Arc<ExecutionState>> {
        self.ended.subscribe()
    }

    /// Stops claiming and hands back the leases of steps still running here, so another
    /// replica (or this one after a restart) runs them at once instead of after the lease.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wake.notify_one();
        // No claim after this: the loop ends within its current round.
        let task = self.loop_task.lock().ok().and_then(|mut slot| slot.take());
        if let Some(task) = task {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        // Running attempts may finish and be recorded; the rest is handed back.
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while self.in_flight.lock().is_ok_and(|m| !m.is_empty())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match self.executions.release(&self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(steps = n, "handed workflow steps back"),
            Err(e) => {
                tracing::warn!(error = %e, "could not hand workflow steps back; their leases will expire");
            }
        }
    }
}

impl WorkSignal for WorkflowWorker {
    fn offer(&self, at_most: usize) -> Option<StepOffer> {
        if self.stopping.load(Ordering::Acquire) {
            return None;
        }
        let mut held = Vec::new();
        while held.len() < at_most {
            match self.pool.clone().try_acquire_owned() {
                Ok(permit) => held.push(permit),
                Err(_) => break,
            }
        }
        if held.is_empty() {
            return None;
        }
        let offer = StepOffer {
            lease: format!("{}/{}", self.owner, uuid::Uuid::now_v7().simple()),
            until: self.engine.now()
                + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX),
            at_most: held.len(),
            pure_budget: self.pure_budget,
        };
        self.offers.lock().ok()?.insert(offer.lease.clone(), held);
        Some(offer)
    }

    fn taken(&self, lease: &str, state: Option<Arc<ExecutionState>>) {
        let held = self
            .offers
            .lock()
            .ok()
            .and_then(|mut offers| offers.remove(lease))
            .unwrap_or_default();
        if let Some(state) = state.as_ref().filter(|s| s.execution.status.is_final()) {
            // Ended in its start's transaction (its steps were pure, run at once: ADR 0033):
            // told like an end recorded here.
            metrics::counter!("usvc_workflow_executions_ended_total", "status" => state.execution.status.as_str())
                .increment(1);
            let _ = self.ended.send(state.clone());
        }
        let next = state
            .map(|state| ClaimedStep::held_by(&state, lease))
            .unwrap_or_default();
        // Shutting down: what the start took is handed back with the rest, not run.
        let next = if self.stopping.load(Ordering::Acquire) {
            Vec::new()
        } else {
            next
        };
        let spare = held.len() > next.len();
        // On the worker's runtime, not the caller's (an HTTP worker thread).
        let _runtime = self.runtime.enter();
        metrics::counter!("usvc_workflow_steps_taken_at_start_total").increment(next.len() as u64);
        for (step, permit) in next.into_iter().zip(held) {
            let running = Running::new(&self.in_flight, &step, permit);
            spawn_attempt(&self.engine, &self.results, &self.wake, step, running);
        }
        if spare && self.starved.swap(false, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    fn wake(&self) {
        self.wake.notify_one();
        if self.pool.available_permits() > 0 {
            // This worker has room and claims at once: telling the others would cost a
            // transaction per start (NOTIFY) for a claim they would mostly find empty.
            return;
        }
        // Every slot here is busy: other replicas' idle workers take it (NOTIFY on Postgres;
        // in-process on SQLite).
        let bus = self.invalidation.clone();
        tokio::spawn(async move {
            let message = InvalidationMessage {
                cache: WORK_CHANNEL.into(),
                key: None,
            };
            if let Err(e) = bus.publish(message).await {
                tracing::debug!(error = %e, "could not announce workflow work");
            }
        });
    }
}

/// The worker loop's state.
struct Run {
    engine: Arc<Engine>,
    executions: Arc<dyn ExecutionRepository>,
    owner: String,
    wake: Arc<Notify>,
    /// Where finished attempts go to be recorded ([`record_results`]).
    results: mpsc::UnboundedSender<(ClaimedStep, Finish, Running)>,
    /// The attempts running here.
    in_flight: InFlight,
    pool: Arc<Semaphore>,
    config: WorkerConfig,
    /// When overdue executions were last looked for.
    last_expiry: std::sync::Mutex<Option<Instant>>,
    /// Set while the loop waits for a free slot: recordings that free one then wake it.
    starved: Arc<AtomicBool>,
}

impl Run {
    /// Claims what is due and free slots allow, then sleeps unless there may be more.
    async fn round(&self) {
        self.expire_overdue().await;
        let free = self.pool.available_permits();
        if free == 0 {
            // Every slot busy: a recording that frees one wakes us (said before looking
            // again, so a slot freed in between is not missed).
            self.starved.store(true, Ordering::Release);
            if self.pool.available_permits() > 0 {
                return;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(MAX_IDLE) => {}
            }
            return;
        }
        // The slots first, then the claim: a recording may take free slots meanwhile, and a
        // claimed step must not wait for one while its lease runs.
        let mut slots = Vec::with_capacity(free);
        while slots.len() < free.min(usize::try_from(self.config.batch).unwrap_or(usize::MAX)) {
            match self.pool.clone().try_acquire_owned() {
                Ok(permit) => slots.push(permit),
                Err(_) => break,
            }
        }
        if slots.is_empty() {
            return;
        }
        let want = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let started = Instant::now();
        let claimed = match self
            .executions
            .claim(
                &self.owner,
                want,
                lease,
                self.engine.now(),
                usvc_core::TenantQuotas::DEFAULT.steps_in_flight,
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming workflow steps failed");
                Vec::new()
            }
        };
        metrics::histogram!("usvc_workflow_claim_seconds").record(started.elapsed().as_secs_f64());
        let full = u32::try_from(claimed.len()).unwrap_or(u32::MAX) == want;
        for (step, permit) in claimed.into_iter().zip(slots) {
            let running = Running::new(&self.in_flight, &step, permit);
            spawn_attempt(&self.engine, &self.results, &self.wake, step, running);
        }
        if full {
            return;
        }
        let sleep = match self.executions.next_due().await {
            Ok(Some(due)) => (due - self.engine.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_SLEEP, MAX_IDLE),
            Ok(None) => MAX_IDLE,
            Err(_) => Duration::from_secs(1),
        };
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }

    /// Times out the executions past their deadline, at most once a second (a round can be
    /// much more frequent under load; idle workers wake for deadlines through `next_due`).
    async fn expire_overdue(&self) {
        let now = Instant::now();
        {
            let Ok(mut last) = self.last_expiry.lock() else {
                return;
            };
            if last.is_some_and(|at| now.duration_since(at) < EXPIRY_EVERY) {
                return;
            }
            *last = Some(now);
        }
        match self.engine.expire_overdue().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(executions = n, "timed out workflow executions"),
            Err(e) => tracing::warn!(error = %e, "timing out workflow executions failed"),
        }
    }
}

/// Runs `step` on the runtime and sends how it ended to be recorded; `running` holds its pool
/// slot until then.
fn spawn_attempt(
    engine: &Arc<Engine>,
    results: &mpsc::UnboundedSender<(ClaimedStep, Finish, Running)>,
    wake: &Arc<Notify>,
    step: ClaimedStep,
    running: Running,
) {
    let (engine, results, wake) = (engine.clone(), results.clone(), wake.clone());
    tokio::spawn(async move {
        if let Some(finish) = attempt(&engine, &step).await {
            let _ = results.send((step, finish, running));
        } else {
            drop(running);
            // A slot is free: the loop may be waiting for one.
            wake.notify_one();
        }
    });
}

/// Runs one claimed attempt, a panic caught as the step's failure; how it ended, or `None`
/// when there is nothing to record.
async fn attempt(engine: &Engine, step: &ClaimedStep) -> Option<Finish> {
    caught("workflow step", run_step(engine, step))
        .await
        .unwrap_or_else(|panic| {
            Some(Finish::Ran(StepOutcome::Failed(format!(
                "the step stopped on an internal error ({panic}); it is in the service's log"
            ))))
        })
}

/// Tries `work` again, twice at most and briefly, while it fails with `Unavailable` (a pool
/// timeout, a lock held until the database noticed a dead replica's connection). Without
/// this a transient store error drops the attempt and its lease lapses, which spends one of
/// the step's takeovers, meant for workers that die: three such errors in a row would fail a
/// step that never failed. Both uses are safe to repeat: preparing only reads, and recording
/// changes a step only while this claim still holds its lease, so a retry after a commit whose
/// answer was lost changes nothing.
async fn transient_retries<T, F, Fut>(mut work: F) -> Result<T, usvc_core::CoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, usvc_core::CoreError>>,
{
    let mut pause = Duration::from_millis(100);
    for _ in 0..2 {
        match work().await {
            Err(usvc_core::CoreError::Unavailable(why)) => {
                tracing::debug!(error = %why, "the store is busy; trying the workflow step again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    work().await
}

/// Runs one claimed attempt; how it ended, or `None` when there is nothing to record.
async fn run_step(engine: &Engine, step: &ClaimedStep) -> Option<Finish> {
    let prepared = transient_retries(|| engine.prepare(step)).await;
    match prepared {
        Ok(Prepared::Gone) => None,
        Ok(Prepared::Finish(finish)) => Some(finish),
        Ok(Prepared::Run {
            kind,
            call,
            timeout,
            env,
        }) => {
            let started = Instant::now();
            let name = kind.name();
            let outcome = tokio::time::timeout(timeout, engine.run(kind, call, env))
                .await
                .unwrap_or_else(|_| {
                    StepOutcome::Failed(format!("timed out after {} ms", timeout.as_millis()))
                });
            let result = match &outcome {
                StepOutcome::Succeeded(_) => "succeeded",
                StepOutcome::Failed(_) => "failed",
                StepOutcome::Park { .. } => "parked",
                StepOutcome::Ask(_) => "asked",
            };
            metrics::histogram!("usvc_workflow_step_seconds", "kind" => name)
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("usvc_workflow_step_attempts_total", "kind" => name, "result" => result)
                .increment(1);
            Some(Finish::Ran(outcome))
        }
        Err(e) => {
            // The lease runs out and the step is claimed again.
            tracing::warn!(error = %e, execution = %step.execution_id, step = %step.step_id, "preparing a workflow step failed");
            None
        }
    }
}

/// Records finished attempts. What arrives together is grouped by execution, each group in
/// one transaction and the groups concurrently: the branches of a fan-out that end at once
/// take the execution's lock once, not once each. The same transaction takes the steps the
/// group unlocked, as many as the attempts' slots and the free ones allow and the tenant's
/// `steps_in_flight` quota has room for, and they run here at once: no claim, no read, no wait
/// for the loop (issue 17). The rest stay ready for the next claim, which the recording wakes.
/// Each group is recorded in a task of its own, so none waits for another's.
async fn record_results(
    recorder: Recorder,
    mut finished: mpsc::UnboundedReceiver<(ClaimedStep, Finish, Running)>,
) {
    let recorder = Arc::new(recorder);
    while let Some((step, finish, running)) = finished.recv().await {
        let mut groups: HashMap<ExecutionId, Vec<(ClaimedStep, Finish, Running)>> = HashMap::new();
        groups
            .entry(step.execution_id)
            .or_default()
            .push((step, finish, running));
        while let Ok((step, finish, running)) = finished.try_recv() {
            groups
                .entry(step.execution_id)
                .or_default()
                .push((step, finish, running));
        }
        // Siblings still running here (a fan-out's branches end within a millisecond or two
        // of each other): waited for briefly, so they are recorded in one transaction.
        let until = tokio::time::Instant::now() + SIBLINGS_WAIT;
        while recorder.siblings_running(&groups) {
            match tokio::time::timeout_at(until, finished.recv()).await {
                Ok(Some((step, finish, running))) => groups
                    .entry(step.execution_id)
                    .or_default()
                    .push((step, finish, running)),
                Ok(None) | Err(_) => break,
            }
        }
        // Each group in a task of its own: one that runs pure steps first (ADR 0033), or waits
        // for its execution's lock, holds back no other and no next batch.
        for group in groups.into_values() {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                let left = recorder.record(group).await;
                // The loop looks again only when there is something for it: steps this
                // recording left ready (or scheduled for later), or slots freed while it
                // waits for one. Waking it after every recording cost a claim and a
                // `next_due` each (issue 17).
                if left || recorder.starved.swap(false, Ordering::AcqRel) {
                    recorder.wake.notify_one();
                }
            });
        }
    }
}

/// What [`record_results`] needs.
struct Recorder {
    engine: Arc<Engine>,
    ended: broadcast::Sender<Arc<ExecutionState>>,
    wake: Arc<Notify>,
    owner: String,
    lease: Duration,
    in_flight: InFlight,
    stopping: Arc<AtomicBool>,
    /// The worker's slots.
    pool: Arc<Semaphore>,
    /// Whether the loop waits for a free slot ([`Run::starved`]).
    starved: Arc<AtomicBool>,
    /// Most free slots one recording takes steps for.
    batch: usize,
    /// [`WorkerConfig::pure_budget`].
    pure_budget: Duration,
    /// Where the attempts taken at recording send their results: weak, so the channel closes
    /// (and this task ends) when the worker loop is gone.
    results: mpsc::WeakUnboundedSender<(ClaimedStep, Finish, Running)>,
}

impl Recorder {
    /// Whether attempts of the executions in `groups` other than those in hand still run here.
    fn siblings_running(
        &self,
        groups: &HashMap<ExecutionId, Vec<(ClaimedStep, Finish, Running)>>,
    ) -> bool {
        let Ok(running) = self.in_flight.lock() else {
            return false;
        };
        groups.iter().any(|(execution, in_hand)| {
            running.keys().filter(|(e, _)| e == execution).count() > in_hand.len()
        })
    }

    /// `attempts`, then round after round the pure steps (`StepKind::pure`) the round before
    /// will take under `take`, each round run here at once on the execution as the attempts'
    /// claim saw it, to be recorded with the attempts in one transaction: a chain of
    /// transforms costs one commit, not one each (ADR 0033). A round stops the chain where it takes a step of another kind, and one not
    /// run within the budget is dropped (its steps are taken by the round before and run as
    /// usual); the store checks every round's leases again, so a state that changed meanwhile
    /// costs a rerun of a pure step at most.
    async fn run_pure(
        &self,
        attempts: Vec<(ClaimedStep, Finish)>,
        take: &StepOffer,
    ) -> Vec<Vec<(ClaimedStep, Finish)>> {
        let seen = attempts
            .last()
            .and_then(|(claimed, _)| claimed.snapshot.clone())
            .filter(|_| !take.pure_budget.is_zero());
        let Some(seen) = seen else {
            return vec![attempts];
        };
        let deadline = tokio::time::Instant::now() + take.pure_budget;
        let engine = &self.engine;
        engine
            .pure_rounds(seen, attempts, take, |taken: Vec<ClaimedStep>| async move {
                let running = futures::future::join_all(taken.iter().map(|s| attempt(engine, s)));
                let finished = tokio::time::timeout_at(deadline, running).await.ok()?;
                let round: Vec<_> = taken
                    .into_iter()
                    .zip(finished)
                    .filter_map(|(step, finish)| Some((step, finish?)))
                    .collect();
                metrics::counter!("usvc_workflow_pure_steps_run_at_once_total")
                    .increment(round.len() as u64);
                Some(round)
            })
            .await
    }

    /// Records one execution's finished attempts and runs what the same transaction took;
    /// whether it left steps for the loop to claim (ready, or due later).
    async fn record(&self, group: Vec<(ClaimedStep, Finish, Running)>) -> bool {
        let mut attempts = Vec::with_capacity(group.len());
        let mut slots = Vec::with_capacity(group.len());
        for (step, finish, running) in group {
            attempts.push((step, finish));
            slots.push(running);
        }
        let results = self.results.upgrade();
        let taking = results.is_some() && !self.stopping.load(Ordering::Acquire);
        // The attempts' own slots, and free ones up to a claim's batch (a fan-out's branches),
        // held through the recording so the loop cannot hand them out meanwhile.
        let mut spare = Vec::new();
        while taking && spare.len() < self.batch {
            match self.pool.clone().try_acquire_owned() {
                Ok(permit) => spare.push(permit),
                Err(_) => break,
            }
        }
        let take = taking.then(|| StepOffer {
            lease: format!("{}/{}", self.owner, uuid::Uuid::now_v7().simple()),
            until: self.engine.now()
                + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX),
            at_most: slots.len() + spare.len(),
            pure_budget: self.pure_budget,
        });
        let rounds = match &take {
            Some(take) => self.run_pure(attempts, take).await,
            None => vec![attempts],
        };
        let recorded = caught(
            "workflow results",
            transient_retries(|| self.engine.finish_all(rounds.clone(), take.clone())),
        )
        .await
        .unwrap_or_else(|panic| Err(usvc_core::CoreError::Internal(panic)));
        let state = match recorded {
            Ok(Some(state)) => Arc::new(state),
            Ok(None) => return false,
            Err(e) => {
                // The leases run out and the steps run again (at least once); the loop
                // already counts their expiry in when it looks next.
                tracing::warn!(error = %e, "recording workflow steps failed");
                return false;
            }
        };
        if state.execution.status.is_final() {
            metrics::counter!("usvc_workflow_executions_ended_total", "status" => state.execution.status.as_str())
                .increment(1);
            // Its end may have released a queued execution of its concurrency group.
            let released = state.execution.concurrency_key.is_some();
            let _ = self.ended.send(state);
            return released;
        }
        let left = state.steps.iter().any(|s| {
            matches!(s.status, StepStatus::Ready | StepStatus::Waiting) && s.ready_at.is_some()
        });
        let (Some(take), Some(results)) = (take, results) else {
            return left;
        };
        if self.stopping.load(Ordering::Acquire) {
            // Shutting down: what this recording took is handed back with the rest.
            return left;
        }
        let next = ClaimedStep::held_by(&state, &take.lease);
        if next.is_empty() {
            return left;
        }
        // The finished attempts' slots pass to the steps taken; their entries leave the
        // in-flight registry first (a step retried at once has the same key).
        let mut permits: Vec<_> = slots.iter_mut().filter_map(|r| r.slot.take()).collect();
        permits.extend(spare);
        drop(slots);
        metrics::counter!("usvc_workflow_steps_taken_at_recording_total")
            .increment(next.len() as u64);
        for (step, permit) in next.into_iter().zip(permits) {
            let running = Running::new(&self.in_flight, &step, permit);
            spawn_attempt(&self.engine, &results, &self.wake, step, running);
        }
        left
    }
}

/// Renews, every third of the lease, the leases of the attempts running here, so a step that
/// runs longer than one lease is not taken over from a live worker. Ends with the worker.
async fn heartbeat(
    worker: std::sync::Weak<WorkflowWorker>,
    engine: Arc<Engine>,
    executions: Arc<dyn ExecutionRepository>,
    in_flight: InFlight,
    lease: Duration,
) {
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        if worker.strong_count() == 0 {
            return;
        }
        let held: Vec<(ExecutionId, String, String)> = in_flight
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((e, s), lease)| (*e, s.clone(), lease.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if held.is_empty() {
            continue;
        }
        let until =
            engine.now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match caught("workflow heartbeat", executions.renew(held, until)).await {
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "renewing workflow leases failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use usvc_core::CoreError;

    use super::transient_retries;

    async fn count_calls(answers: &[Result<u32, CoreError>]) -> (Result<u32, CoreError>, u32) {
        let calls = AtomicU32::new(0);
        let outcome = transient_retries(|| {
            let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
            let answer = answers[n.min(answers.len() - 1)].clone();
            async move { answer }
        })
        .await;
        (outcome, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_busy_store_is_asked_again_and_a_real_error_is_not() {
        let busy = || Err(CoreError::Unavailable("pool timeout".into()));
        let (outcome, calls) = count_calls(&[busy(), busy(), Ok(7)]).await;
        assert_eq!(
            (outcome.ok(), calls),
            (Some(7), 3),
            "busy twice, then recorded"
        );
        let (outcome, calls) = count_calls(&[busy()]).await;
        assert!(matches!(outcome, Err(CoreError::Unavailable(_))));
        assert_eq!(
            calls, 3,
            "three tries at most, then the lease is left to lapse"
        );
        let (outcome, calls) = count_calls(&[Err(CoreError::Internal("bug".into()))]).await;
        assert!(matches!(outcome, Err(CoreError::Internal(_))));
        assert_eq!(calls, 1, "a real error is not retried");
    }
}
