//! What one evaluation of a template or expression may make, and the meter that enforces it.
//!
//! Fuel bounds the *instructions* an evaluation runs, not the bytes they make: one `~` can
//! double a string, one `indent(10**15)` asks for a petabyte, and an allocation that fails
//! aborts the whole process (Rust cannot catch it). So every operation that can make something
//! bigger than its inputs is routed through a check that runs *before* it allocates
//! (`library.rs`), against the limits below, and everything made is charged to a meter that
//! lives for one evaluation on the evaluating thread. See `docs/workflows.md` ("Limits").

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// Instructions one evaluation may run: generous for real templates, a wall for loops
/// nested to run for minutes.
pub const FUEL: u64 = 200_000;
/// The longest string one operation may make, and the longest rendered text or result (as
/// JSON): an `http` step's whole response body fits.
pub const MAX_TEXT: usize = 1024 * 1024;
/// The most items one list or map an operation makes may hold (`range`, `*`, `+`, filters).
pub const MAX_ITEMS: usize = 10_000;
/// All the text one evaluation may make, added up (kept or not).
pub const MAX_MADE_BYTES: usize = 16 * 1024 * 1024;
/// All the list items one evaluation's filters and functions may make, added up.
pub const MAX_MADE_ITEMS: usize = 1_000_000;
/// How deeply a value kept in a variable may nest (JSON from outside nests at most 128 deep:
/// serde_json's own limit). Deeper values would overflow the stack when shown or dropped.
pub const MAX_DEPTH: usize = 160;
/// Namespaces one evaluation may create.
pub const MAX_NAMESPACES: usize = 100;
/// How long one evaluation may run on its thread.
pub const MAX_TIME: Duration = Duration::from_millis(250);

/// What one evaluation has made so far.
struct Meter {
    deadline: Instant,
    made_bytes: usize,
    made_items: usize,
    emitted: usize,
    /// The namespaces this evaluation created: the only mutable values, so the only way to
    /// build a cycle; a namespace may not hold another (`keep_in_namespace`).
    namespaces: Vec<Value>,
}

thread_local! {
    static METER: RefCell<Option<Meter>> = const { RefCell::new(None) };
}

/// Restores the meter of an enclosing evaluation (there is none today) when one ends, even
/// by unwinding.
struct Restore(Option<Meter>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        METER.with(|m| *m.borrow_mut() = previous);
    }
}

/// Runs `f` as one evaluation: a fresh meter with `deadline` (or `MAX_TIME` from now).
pub fn metered<R>(deadline: Option<Instant>, f: impl FnOnce() -> R) -> R {
    let now = Instant::now();
    let own = now + MAX_TIME;
    let meter = Meter {
        deadline: deadline.map_or(own, |d| d.min(own)),
        made_bytes: 0,
        made_items: 0,
        emitted: 0,
        namespaces: Vec::new(),
    };
    let previous = METER.with(|m| m.borrow_mut().replace(meter));
    let _restore = Restore(previous);
    f()
}

/// Runs `f` within the current evaluation's meter, or as an evaluation of its own when none is
/// running (compiling at save time).
pub fn within_meter<R>(f: impl FnOnce() -> R) -> R {
    if METER.with(|m| m.borrow().is_some()) {
        f()
    } else {
        metered(None, f)
    }
}

fn with_meter<R>(f: impl FnOnce(&mut Meter) -> Result<R, Error>) -> Result<R, Error> {
    METER.with(|m| match m.borrow_mut().as_mut() {
        Some(meter) => f(meter),
        None => Err(refused("a template was evaluated outside its meter")),
    })
}

/// An evaluation refused for going past a limit: a failed step or a 4xx, never a crash.
pub fn refused(detail: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidOperation, detail.into())
}

fn check_time(meter: &Meter) -> Result<(), Error> {
    if Instant::now() > meter.deadline {
        Err(refused(format!(
            "the evaluation took longer than {} ms",
            MAX_TIME.as_millis()
        )))
    } else {
        Ok(())
    }
}

/// Charges `bytes` of made text (after checking it is within `MAX_TEXT`) and `items` of made
/// list items, and checks the time.
pub fn charge(bytes: usize, items: usize) -> Result<(), Error> {
    if bytes > MAX_TEXT {
        return Err(too_long(bytes));
    }
    if items > MAX_ITEMS {
        return Err(too_many(items));
    }
    with_meter(|m| {
        check_time(m)?;
        m.made_bytes = m.made_bytes.saturating_add(bytes);
        m.made_items = m.made_items.saturating_add(items);
        if m.made_bytes > MAX_MADE_BYTES {
            return Err(refused(format!(
                "the evaluation made more than {MAX_MADE_BYTES} bytes of text"
            )));
        }
        if m.made_items > MAX_MADE_ITEMS {
            return Err(refused(format!(
                "the evaluation made more than {MAX_MADE_ITEMS} list items"
            )));
        }
        Ok(())
    })
}

/// Charges `bytes` of rendered output (`MAX_TEXT` in all).
pub fn charge_output(bytes: usize) -> Result<(), Error> {
    with_meter(|m| {
        check_time(m)?;
        m.emitted = m.emitted.saturating_add(bytes);
        if m.emitted > MAX_TEXT {
            Err(refused(format!(
                "the rendered text would be longer than {MAX_TEXT} bytes"
            )))
        } else {
            Ok(())
        }
    })
}

/// Output still allowed before `charge_output` refuses.
pub fn output_room() -> usize {
    METER.with(|m| {
        m.borrow()
            .as_ref()
            .map_or(0, |m| MAX_TEXT.saturating_sub(m.emitted))
    })
}

/// Records a namespace this evaluation created.
pub fn register_namespace(ns: &Value) -> Result<(), Error> {
    with_meter(|m| {
        if m.namespaces.len() >= MAX_NAMESPACES {
            return Err(refused(format!(
                "an evaluation may create at most {MAX_NAMESPACES} namespaces"
            )));
        }
        m.namespaces.push(ns.clone());
        Ok(())
    })
}

/// Whether `value` is one of this evaluation's namespaces.
pub fn is_namespace(value: &Value) -> bool {
    if value.as_object().is_none() {
        return false;
    }
    METER.with(|m| {
        m.borrow().as_ref().is_some_and(|m| {
            m.namespaces
                .iter()
                .any(|ns| minijinja::tests::is_sameas(ns, value))
        })
    })
}

pub fn too_long(bytes: usize) -> Error {
    refused(format!(
        "the text would be {bytes} bytes long, more than the {MAX_TEXT} a template may make"
    ))
}

pub fn too_many(items: usize) -> Error {
    refused(format!(
        "the list would hold {items} items, more than the {MAX_ITEMS} a template may make"
    ))
}

/// A `fmt::Write` that keeps (or only counts) what is written and fails, without allocating
/// further, once more than `limit` bytes were written.
pub struct Capped<'a> {
    out: Option<&'a mut String>,
    len: usize,
    limit: usize,
}

impl<'a> Capped<'a> {
    /// Counts what is written, keeping nothing.
    pub fn counter(limit: usize) -> Self {
        Self {
            out: None,
            len: 0,
            limit,
        }
    }

    /// Appends what is written to `out`.
    pub fn into(out: &'a mut String, limit: usize) -> Self {
        Self {
            out: Some(out),
            len: 0,
            limit,
        }
    }
}

impl fmt::Write for Capped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.len = self.len.saturating_add(s.len());
        if self.len > self.limit {
            return Err(fmt::Error);
        }
        if let Some(out) = self.out.as_mut() {
            out.push_str(s);
        }
        Ok(())
    }
}

impl std::io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.len = self.len.saturating_add(buf.len());
        if self.len > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `value` shown as text (as `~` and `{{ }}` show it), or `None` when it would
/// be longer than `limit`; nothing is allocated for the text.
pub fn text_len(value: &Value, limit: usize) -> Option<usize> {
    if let Some(s) = value.as_str() {
        return (s.len() <= limit).then_some(s.len());
    }
    let mut counter = Capped::counter(limit);
    fmt::write(&mut counter, format_args!("{value}")).ok()?;
    Some(counter.len)
}

/// Shows `args` one after the other as one string, refusing before it passes `MAX_TEXT`.
pub fn text_of(args: &[&Value]) -> Result<String, Error> {
    let mut out = String::new();
    let mut capped = Capped::into(&mut out, MAX_TEXT);
    for value in args {
        if fmt::write(&mut capped, format_args!("{value}")).is_err() {
            return Err(too_long(capped.len));
        }
    }
    Ok(out)
}

/// The length of `value` as compact JSON, or `None` past `limit`; nothing is allocated.
pub fn json_len(value: &impl serde::Serialize, limit: usize) -> Option<usize> {
    let mut counter = Capped::counter(limit);
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.len)
}

/// Checks that `value` nests at most `room` containers deep, counting the items it walks.
pub fn check_depth(value: &Value, room: usize) -> Result<(), Error> {
    fn walk(value: &Value, room: usize, seen: &mut usize) -> Result<(), Error> {
        let map = match value.kind() {
            ValueKind::Map | ValueKind::Plain => true,
            ValueKind::Seq | ValueKind::Iterable => false,
            _ => return Ok(()),
        };
        if room == 0 {
            return Err(refused(format!(
                "the value nests more than {MAX_DEPTH} lists or maps deep"
            )));
        }
        *seen += 1;
        if *seen % 4096 == 0 {
            with_meter(|m| check_time(m))?;
        }
        let Ok(items) = value.try_iter() else {
            return Ok(());
        };
        for item in items {
            if map {
                let child = value.get_item(&item).unwrap_or_default();
                walk(&child, room - 1, seen)?;
            } else {
                walk(&item, room - 1, seen)?;
            }
        }
        Ok(())
    }
    walk(value, room, &mut 0)
}

/// Whether `value` holds one of this evaluation's namespaces (at any depth below `room`).
pub fn holds_namespace(value: &Value, room: usize) -> bool {
    if is_namespace(value) {
        return true;
    }
    if room == 0 {
        return false;
    }
    let map = match value.kind() {
        ValueKind::Map | ValueKind::Plain => true,
        ValueKind::Seq | ValueKind::Iterable => false,
        _ => return false,
    };
    let Ok(items) = value.try_iter() else {
        return false;
    };
    for item in items {
        let child = if map {
            value.get_item(&item).unwrap_or_default()
        } else {
            item
        };
        if holds_namespace(&child, room - 1) {
            return true;
        }
    }
    false
}
