//! mxsim-wasm: the JavaScript API of mxsim, over `mxsim-core` compiled to WebAssembly.
//!
//! Conversion only: every method calls core and returns its result as JSON text (the same
//! serde types the CLI prints, so `report()` is byte-identical to `mxsim run --json`). No model
//! logic lives here. Errors become JS `Error`s whose message is the CLI's diagnostic text.
//! See `wasm/README.md` for the API and a Node example.
//!
//! An internal error (a panic: a bug in mxsim) becomes a JS `Error` too, naming the scenario
//! and seed, instead of WebAssembly's bare `RuntimeError: unreachable`; the `Sim` it happened
//! in refuses every later call with a message saying so (its state is not trustworthy).

use mxsim_core::scenario;
use mxsim_core::time::SimTime;
use mxsim_core::{smtp, Simulation};
use std::cell::{RefCell, RefMut};
use wasm_bindgen::prelude::*;

/// Most trace records a recording `Sim` keeps unread: past it the oldest half is dropped and
/// `eventsSince` reports how many (a page that stops reading cannot exhaust memory).
pub const TRACE_KEPT_MAX: usize = 1_000_000;

/// A simulation created from scenario text, advanced in bounded steps.
#[wasm_bindgen]
pub struct Sim {
    inner: RefCell<Simulation>,
    recording: bool,
    /// "scenario \"name\", seed N", for internal-error messages.
    context: String,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("core types serialise")
}

thread_local! {
    /// What the running call works on (set on entry), for the panic message.
    static CONTEXT: RefCell<String> = const { RefCell::new(String::new()) };
    /// The last internal error's message.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Installs (once) the hook that turns a panic into a thrown JS `Error` with the panic's
/// message, what was being run, and a request to report it.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let context = CONTEXT.with(|c| c.borrow().clone());
            let message = format!(
                "mxsim internal error: {info}{}; this is a bug in mxsim, please report it with the scenario and seed",
                if context.is_empty() { String::new() } else { format!(" ({context})") }
            );
            LAST_ERROR.with(|e| e.borrow_mut().clone_from(&message));
            // Throws through the WebAssembly frames: the caller gets an `Error`, not a trap.
            wasm_bindgen::throw_str(&message);
        }));
    });
}

impl Sim {
    /// The simulation, for one call; an error once an internal error interrupted a call
    /// (the borrow it held was never given back).
    fn sim(&self) -> Result<RefMut<'_, Simulation>, JsError> {
        install_panic_hook();
        CONTEXT.with(|c| c.borrow_mut().clone_from(&self.context));
        self.inner.try_borrow_mut().map_err(|_| {
            let last = LAST_ERROR.with(|e| e.borrow().clone());
            JsError::new(&format!(
                "this Sim stopped after an internal error and cannot be used any more; create a new one ({last})"
            ))
        })
    }
}

#[wasm_bindgen]
impl Sim {
    /// Creates a simulation from scenario `text` (TOML, or JSON when `file` ends in `.json` or
    /// the text starts with `{`). `seed` (a BigInt) overrides the scenario's seed. With
    /// `record` true, every trace record is kept for `eventsSince` and in-flight messages show
    /// in `snapshot`. `policy` is a spec as `mxsim compare --policy` takes it (`postfix`,
    /// `patient-443`, `scenario:policy.queue_scan=5m`); without it, or with `scenario`, the
    /// scenario's own policy.
    /// Invalid text throws an `Error` listing every problem, as the CLI does.
    #[wasm_bindgen(constructor)]
    pub fn new(
        text: &str,
        file: Option<String>,
        seed: Option<u64>,
        record: Option<bool>,
        policy: Option<String>,
    ) -> Result<Sim, JsError> {
        install_panic_hook();
        let file = file.unwrap_or_else(|| "<scenario>".to_string());
        CONTEXT.with(|c| *c.borrow_mut() = format!("loading {file}"));
        let scenario = load(text, &file, seed, policy.as_deref())?;
        let context = format!("scenario \"{}\", seed {}", scenario.name, scenario.seed);
        let mut inner = Simulation::new(scenario);
        let recording = record.unwrap_or(false);
        if recording {
            inner.record_trace_bounded(TRACE_KEPT_MAX);
        }
        Ok(Sim {
            inner: RefCell::new(inner),
            recording,
            context,
        })
    }

    /// Observes the run in detail from now on: the report gains `routing` (per host, link and
    /// route), `series` (buckets of `every_ms`, default the scenario's `series_every`) and
    /// `analysis` (culprits, failure windows, where 4.4.3 came from), as `mxsim run --json`
    /// prints them. Call before advancing. Throws if `every_ms` is not a positive whole number.
    pub fn observe(&self, every_ms: Option<f64>) -> Result<(), JsError> {
        let every = match every_ms {
            None => None,
            Some(ms) if ms.is_finite() && ms >= 1.0 && ms.fract() == 0.0 && ms < 9.0e15 => {
                Some(mxsim_core::time::SimDuration::from_ms(ms as u64))
            }
            Some(ms) => {
                return Err(JsError::new(&format!(
                    "observe needs a bucket width in whole ms (>= 1), got {ms}"
                )))
            }
        };
        self.sim()?.observe(every);
        Ok(())
    }

    /// Runs at most `budget` events; returns how many ran (0 once the run has stopped).
    pub fn advance(&self, budget: u32) -> Result<u32, JsError> {
        Ok(self.sim()?.run_events(u64::from(budget)) as u32)
    }

    /// Runs the events at or before simulated time `t_ms`, at most `budget` of them; returns
    /// how many ran. Call once per animation frame with the frame's target time. Throws if
    /// `t_ms` is not a time (NaN, negative) or is before the simulation's clock.
    #[wasm_bindgen(js_name = advanceTo)]
    pub fn advance_to(&self, t_ms: f64, budget: u32) -> Result<u32, JsError> {
        if !(t_ms.is_finite() && t_ms >= 0.0) {
            return Err(JsError::new(&format!(
                "advanceTo needs a simulated time in ms (a number >= 0), got {t_ms}"
            )));
        }
        // f64 → u64 saturates; a frame time past u64::MAX ms simply means "run on".
        let t = SimTime(t_ms as u64);
        self.sim()?
            .run_until(t, u64::from(budget))
            // At most `budget` (a u32) events ran.
            .map(|n| n as u32)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Runs to the end in chunks of at most `budget` events; returns true once finished.
    #[wasm_bindgen(js_name = runToEnd)]
    pub fn run_to_end(&self, budget: u32) -> Result<bool, JsError> {
        let mut sim = self.sim()?;
        sim.run_events(u64::from(budget));
        Ok(sim.stopped().is_some())
    }

    /// True once the run has stopped (queue empty, duration or event limit).
    pub fn done(&self) -> Result<bool, JsError> {
        Ok(self.sim()?.stopped().is_some())
    }

    /// Current simulated time, ms.
    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms(&self) -> Result<f64, JsError> {
        Ok(self.sim()?.now().as_ms() as f64)
    }

    /// Events processed so far.
    pub fn events(&self) -> Result<f64, JsError> {
        Ok(self.sim()?.events() as f64)
    }

    /// Trace records from index `cursor` (counting every record of the run), at most `max`,
    /// as JSON `{"next": <cursor for the next call>, "events": [<trace records>], "skipped":
    /// <records from `cursor` on that are no longer kept: released after an earlier read, or
    /// dropped unread past the bound>}`.
    /// Records before `cursor` are released (read already); at most [`TRACE_KEPT_MAX`] unread
    /// records are kept, the oldest half dropped past it. Needs `record`.
    #[wasm_bindgen(js_name = eventsSince)]
    pub fn events_since(&self, cursor: f64, max: u32) -> Result<String, JsError> {
        if !self.recording {
            return Err(JsError::new(
                "events are only kept when the simulation is created with record = true",
            ));
        }
        if !(cursor.is_finite() && cursor >= 0.0 && cursor.fract() == 0.0) {
            return Err(JsError::new(&format!(
                "eventsSince needs a cursor (a whole number >= 0, as returned in `next`), got {cursor}"
            )));
        }
        let cursor = cursor as usize;
        let mut sim = self.sim()?;
        sim.release_trace_before(cursor);
        let first = sim.trace_taken().max(cursor);
        let records = sim.trace_since(first);
        let records = &records[..records.len().min(max as usize)];
        Ok(format!(
            "{{\"next\":{},\"events\":{},\"skipped\":{}}}",
            first + records.len(),
            json(&records),
            first - cursor
        ))
    }

    /// The state now, for drawing, as JSON: hosts (up, down, overloaded, greylisting or flaky,
    /// and the load of a host with a capacity), queue counts, in-flight messages with their
    /// current hop (those need `record`).
    pub fn snapshot(&self) -> Result<String, JsError> {
        Ok(json(&self.sim()?.snapshot()))
    }

    /// The scenario's shape for laying out a picture, as JSON: `{hosts: [{id, role}], links:
    /// [[from, to]], domains: [{name, mx: [[preference, host]], answer}], sender}`.
    pub fn topology(&self) -> Result<String, JsError> {
        Ok(json(&mxsim_core::snapshot::TopologyView::of(
            self.sim()?.scenario(),
        )))
    }

    /// The report so far, byte-identical to `mxsim run --json` (without its final newline).
    pub fn report(&self) -> Result<String, JsError> {
        Ok(serde_json::to_string_pretty(&self.sim()?.report()).expect("reports serialise"))
    }

    /// The trace digest so far (16 hex digits).
    pub fn digest(&self) -> Result<String, JsError> {
        Ok(self.sim()?.digest())
    }
}

/// Loads `text` with an optional policy spec and seed override; errors are the CLI's text.
fn load(
    text: &str,
    file: &str,
    seed: Option<u64>,
    policy: Option<&str>,
) -> Result<scenario::Scenario, JsError> {
    // `scenario` is the file's own policy (as `mxsim compare --policy scenario` means it):
    // loaded plainly, so its problems read exactly as `mxsim run`'s, with no "policy" prefix.
    let Some(spec) = policy.filter(|p| *p != "scenario") else {
        return scenario::load_with_seed(text, file, seed)
            .map_err(|d| JsError::new(&d.to_string()));
    };
    let (name, edits) = scenario::edit::parse_policy_spec(spec)
        .map_err(|m| JsError::new(&format!("policy {spec}: {m}")))?;
    let mut s = scenario::edit::load_edited(text, file, Some(&name), &edits)
        .map_err(|e| JsError::new(&format!("policy {spec}: {e}")))?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    Ok(s)
}

/// Traces chosen messages of a whole run, as `mxsim trace --json` chooses them (core's
/// two-run `trace_messages`: memory holds only the chosen messages' records). `pick` is JSON:
/// `{"ids": [3, 17]}`, or `{"worst": 10}` with an optional `"outcome"` (`delivered`,
/// `bounced`, `expired`, `queued`) and `"host"` (a host id) narrowing the choice. Returns
/// `[{"message": id, "records": [trace records]}]`. Runs the scenario twice in this thread
/// (use a Web Worker). Throws on a bad scenario, spec, pick or message id.
#[wasm_bindgen]
pub fn trace(
    text: &str,
    file: Option<String>,
    seed: Option<u64>,
    policy: Option<String>,
    pick: &str,
) -> Result<String, JsError> {
    use mxsim_core::{Criteria, Outcome, Pick};
    install_panic_hook();
    let file = file.unwrap_or_else(|| "<scenario>".to_string());
    CONTEXT.with(|c| *c.borrow_mut() = format!("tracing messages of {file}"));
    let scenario = load(text, &file, seed, policy.as_deref())?;
    let bad = |m: String| JsError::new(&format!("trace: {m}"));
    let v: serde_json::Value =
        serde_json::from_str(pick).map_err(|e| bad(format!("pick is not JSON: {e}")))?;
    let mut criteria = Criteria::default();
    if let Some(o) = v.get("outcome").filter(|o| !o.is_null()) {
        let name = o.as_str().unwrap_or_default();
        criteria.outcome = Some(Outcome::from_name(name).ok_or_else(|| {
            bad(format!(
                "unknown outcome {o}; one of {}",
                Outcome::NAMES.join(", ")
            ))
        })?);
    }
    if let Some(h) = v.get("host").filter(|h| !h.is_null()) {
        let name = h.as_str().unwrap_or_default();
        let i = scenario
            .hosts
            .iter()
            .position(|x| x.id == name)
            .ok_or_else(|| bad(format!("no host {h} in the scenario")))?;
        criteria.host = Some(mxsim_core::ids::HostId::from_index(i));
    }
    let pick = if let Some(ids) = v.get("ids") {
        let ids = ids
            .as_array()
            .ok_or_else(|| bad("ids must be an array of message ids".into()))?
            .iter()
            .map(|id| {
                id.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(mxsim_core::ids::MessageId)
                    .ok_or_else(|| bad(format!("{id} is not a message id")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Pick::Ids(ids)
    } else if let Some(k) = v.get("worst") {
        let k = k
            .as_u64()
            .filter(|k| (1..=1000).contains(k))
            .ok_or_else(|| bad(format!("worst must be 1 … 1000, got {k}")))?;
        Pick::Worst(k as usize)
    } else {
        return Err(bad("pick needs \"ids\" or \"worst\"".into()));
    };
    let traced =
        mxsim_core::simulation::traced::trace_messages(&scenario, criteria, &pick).map_err(bad)?;
    Ok(json(&traced))
}

/// Checks scenario text without running it: JSON `{"ok": bool, "problems": [diagnostics]}`
/// with each problem's path, line, column, message and help (for an editor).
#[wasm_bindgen]
pub fn validate(text: &str, file: Option<String>) -> String {
    install_panic_hook();
    let file = file.unwrap_or_else(|| "<scenario>".to_string());
    CONTEXT.with(|c| *c.borrow_mut() = format!("validating {file}"));
    match scenario::load(text, &file) {
        Ok(_) => "{\"ok\":true,\"problems\":[]}".to_string(),
        Err(d) => format!("{{\"ok\":false,\"problems\":{}}}", json(&d.items)),
    }
}

/// Compares retry/routing policies on the same seeds, as `mxsim compare --json` does (the
/// same core code and the same JSON, byte for byte, with no gates): each metric's mean with
/// its 95% interval per policy, and each policy's paired and unpaired difference against the
/// first. `policies` are specs as `--policy` takes them (`postfix`, `patient-443`,
/// `scenario:policy.queue_scan=5m`); `seeds` is 2 … 1000. Runs in this thread: call it from a
/// Web Worker for large scenarios. Throws on a bad scenario, spec or seed count.
#[wasm_bindgen]
pub fn compare(
    text: &str,
    file: Option<String>,
    policies: Vec<String>,
    seeds: u32,
) -> Result<String, JsError> {
    install_panic_hook();
    let file = file.unwrap_or_else(|| "<scenario>".to_string());
    CONTEXT.with(|c| *c.borrow_mut() = format!("comparing policies on {file}"));
    let c = mxsim_core::experiment::compare_specs(text, &file, &policies, seeds)
        .map_err(|m| JsError::new(&m))?;
    let mut v = serde_json::to_value(&c).expect("comparisons serialise");
    v["gates"] = serde_json::Value::Array(Vec::new());
    Ok(serde_json::to_string_pretty(&v).expect("JSON prints"))
}

/// The metric registry as JSON, the same as `mxsim metrics --json`: every metric's name,
/// unit, better direction, whether it is censored, gateable, in compare's default table, and
/// what a scenario needs to measure it.
#[wasm_bindgen]
pub fn metrics() -> String {
    json(&mxsim_core::metric::FAMILIES)
}

/// The built-in retry presets as JSON: name, summary, source, backoff, queue lifetime.
#[wasm_bindgen]
pub fn presets() -> String {
    json(&mxsim_core::policy::presets())
}

/// Explains an enhanced status code (e.g. "4.4.3") as JSON, the same data as `mxsim explain
/// --json`; throws on a malformed code.
#[wasm_bindgen]
pub fn explain(code: &str) -> Result<String, JsError> {
    smtp::explain(code)
        .map(|e| json(&e))
        .map_err(|m| JsError::new(&m))
}

/// The mxsim version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
