//! mxsim-wasm: the JavaScript API of mxsim, over `mxsim-core` compiled to WebAssembly.
//!
//! Conversion only: every method calls core and returns its result as JSON text (the same
//! serde types the CLI prints, so `report()` is byte-identical to `mxsim run --json`). No model
//! logic lives here. Errors become JS `Error`s whose message is the CLI's diagnostic text.
//! See `wasm/README.md` for the API and a Node example.

use mxsim_core::scenario;
use mxsim_core::time::SimTime;
use mxsim_core::{smtp, Simulation};
use wasm_bindgen::prelude::*;

/// A simulation created from scenario text, advanced in bounded steps.
#[wasm_bindgen]
pub struct Sim {
    inner: Simulation,
    recording: bool,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("core types serialise")
}

#[wasm_bindgen]
impl Sim {
    /// Creates a simulation from scenario `text` (TOML, or JSON when `file` ends in `.json` or
    /// the text starts with `{`). `seed` (a BigInt) overrides the scenario's seed. With
    /// `record` true, every trace record is kept for `eventsSince` and in-flight messages show
    /// in `snapshot`. Invalid text throws an `Error` listing every problem, as the CLI does.
    #[wasm_bindgen(constructor)]
    pub fn new(
        text: &str,
        file: Option<String>,
        seed: Option<u64>,
        record: Option<bool>,
    ) -> Result<Sim, JsError> {
        let file = file.unwrap_or_else(|| "<scenario>".to_string());
        let scenario = scenario::load_with_seed(text, &file, seed)
            .map_err(|d| JsError::new(&d.to_string()))?;
        let mut inner = Simulation::new(scenario);
        let recording = record.unwrap_or(false);
        if recording {
            inner.record_trace();
        }
        Ok(Sim { inner, recording })
    }

    /// Observes the run in detail from now on: the report gains `routing` (per host, link and
    /// route), `series` (buckets of `every_ms`, default the scenario's `series_every`) and
    /// `analysis` (culprits, failure windows, where 4.4.3 came from), as `mxsim run --json`
    /// prints them. Call before advancing. Throws if `every_ms` is not a positive whole number.
    pub fn observe(&mut self, every_ms: Option<f64>) -> Result<(), JsError> {
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
        self.inner.observe(every);
        Ok(())
    }

    /// Runs at most `budget` events; returns how many ran (0 once the run has stopped).
    pub fn advance(&mut self, budget: u32) -> u32 {
        self.inner.run_events(u64::from(budget)) as u32
    }

    /// Runs the events at or before simulated time `t_ms`, at most `budget` of them; returns
    /// how many ran. Call once per animation frame with the frame's target time. Throws if
    /// `t_ms` is not a time (NaN, negative) or is before the simulation's clock.
    #[wasm_bindgen(js_name = advanceTo)]
    pub fn advance_to(&mut self, t_ms: f64, budget: u32) -> Result<u32, JsError> {
        if !(t_ms.is_finite() && t_ms >= 0.0) {
            return Err(JsError::new(&format!(
                "advanceTo needs a simulated time in ms (a number >= 0), got {t_ms}"
            )));
        }
        // f64 → u64 saturates; a frame time past u64::MAX ms simply means "run on".
        let t = SimTime(t_ms as u64);
        self.inner
            .run_until(t, u64::from(budget))
            // At most `budget` (a u32) events ran.
            .map(|n| n as u32)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Runs to the end in chunks of at most `budget` events; returns true once finished.
    #[wasm_bindgen(js_name = runToEnd)]
    pub fn run_to_end(&mut self, budget: u32) -> bool {
        self.inner.run_events(u64::from(budget));
        self.done()
    }

    /// True once the run has stopped (queue empty, duration or event limit).
    pub fn done(&self) -> bool {
        self.inner.stopped().is_some()
    }

    /// Current simulated time, ms.
    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms(&self) -> f64 {
        self.inner.now().as_ms() as f64
    }

    /// Events processed so far.
    pub fn events(&self) -> f64 {
        self.inner.events() as f64
    }

    /// Trace records from index `cursor`, at most `max`, as JSON
    /// `{"next": <cursor for the next call>, "events": [<trace records>]}`. Needs `record`.
    #[wasm_bindgen(js_name = eventsSince)]
    pub fn events_since(&self, cursor: u32, max: u32) -> Result<String, JsError> {
        if !self.recording {
            return Err(JsError::new(
                "events are only kept when the simulation is created with record = true",
            ));
        }
        let records = self.inner.trace_since(cursor as usize);
        let records = &records[..records.len().min(max as usize)];
        Ok(format!(
            "{{\"next\":{},\"events\":{}}}",
            cursor as usize + records.len(),
            json(&records)
        ))
    }

    /// The state now, for drawing, as JSON: hosts (up/down/flaky), queue counts, in-flight
    /// messages with their current hop (those need `record`).
    pub fn snapshot(&mut self) -> String {
        json(&self.inner.snapshot())
    }

    /// The report so far, byte-identical to `mxsim run --json` (without its final newline).
    pub fn report(&self) -> String {
        serde_json::to_string_pretty(&self.inner.report()).expect("reports serialise")
    }

    /// The trace digest so far (16 hex digits).
    pub fn digest(&self) -> String {
        self.inner.digest()
    }
}

/// Checks scenario text without running it: JSON `{"ok": bool, "problems": [diagnostics]}`
/// with each problem's path, line, column, message and help (for an editor).
#[wasm_bindgen]
pub fn validate(text: &str, file: Option<String>) -> String {
    let file = file.unwrap_or_else(|| "<scenario>".to_string());
    match scenario::load(text, &file) {
        Ok(_) => "{\"ok\":true,\"problems\":[]}".to_string(),
        Err(d) => format!("{{\"ok\":false,\"problems\":{}}}", json(&d.items)),
    }
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
